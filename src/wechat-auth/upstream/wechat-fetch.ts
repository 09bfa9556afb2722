import { Agent, fetch as undiciFetch } from 'undici';
import type { AppConfig } from '../../config/app-config';
import type { FetchFn } from './wechat-http';

/**
 * fetch for WeChat with a connect timeout (global fetch has none) and a
 * bounded socket pool, so a black-holed WeChat cannot tie up sockets.
 */
export function createWechatFetch(config: AppConfig): { fetch: FetchFn; close: () => Promise<void> } {
  const agent = new Agent({
    connect: { timeout: config.wechat.connectTimeoutMs },
    // Each (appid, endpoint) has its own cap of WECHAT_MAX_CONCURRENCY calls in flight; login and the
    // interface-token/phone/session calls together stay within twice that many sockets.
    connections: config.wechat.maxConcurrency * 2,
    keepAliveTimeout: 10_000,
  });
  const fetch: FetchFn = (input, init) =>
    undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as Promise<Response>;
  return { fetch, close: () => agent.close() };
}
