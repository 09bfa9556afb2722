import { Agent, request } from 'undici';
import type { AppConfig } from '../../config/app-config';
import type { HttpRequestFn } from './wechat-http';

/**
 * The sockets to WeChat: a connect timeout (Node's global fetch has none) and a bounded pool, so a
 * black-holed WeChat cannot tie up sockets; requests go through undici's `request` on it.
 */
export function createWechatPool(config: AppConfig): { request: HttpRequestFn; close: () => Promise<void> } {
  const agent = new Agent({
    connect: { timeout: config.wechat.connectTimeoutMs },
    // Each (appid, endpoint) has its own cap of WECHAT_MAX_CONCURRENCY calls in flight; login and the
    // interface-token/phone/session calls together stay within twice that many sockets.
    connections: config.wechat.maxConcurrency * 2,
    keepAliveTimeout: 10_000,
  });
  return {
    request: (url, init) => request(url, { ...init, dispatcher: agent }),
    close: () => agent.close(),
  };
}
