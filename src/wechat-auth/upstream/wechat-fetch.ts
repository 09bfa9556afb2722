import { Agent, fetch as undiciFetch } from 'undici';
import type { AppConfig } from '../../config/app-config';
import type { FetchFn } from '../wechat-api.client';

/**
 * fetch for WeChat with a connect timeout (global fetch has none) and a
 * bounded socket pool, so a black-holed WeChat cannot tie up sockets.
 */
export function createWechatFetch(config: AppConfig): { fetch: FetchFn; close: () => Promise<void> } {
  const agent = new Agent({
    connect: { timeout: config.wechat.connectTimeoutMs },
    connections: config.wechat.maxConcurrency,
    keepAliveTimeout: 10_000,
  });
  const fetch: FetchFn = (input, init) =>
    undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as Promise<Response>;
  return { fetch, close: () => agent.close() };
}
