import { AppException } from '../common/errors/app.exception';
import type { AppConfig, WechatAppCredentials } from '../config/app-config';

/** The configured mini program `appid` names (default: WECHAT_APPID), or 400 UNKNOWN_APPID. */
export function wechatApp(config: AppConfig, appid: string | undefined): WechatAppCredentials {
  const app = config.wechat.apps.get(appid ?? config.wechat.defaultAppid);
  if (!app) throw new AppException('UNKNOWN_APPID');
  return app;
}

/** WeChat's day, for its daily quotas and for ours: Beijing time (UTC+8). */
const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;

export function beijingDay(nowMs: number): number {
  return Math.floor((nowMs + BEIJING_OFFSET_MS) / DAY_MS);
}

/** Seconds (≥ 1) until the next Beijing midnight. */
export function secondsToBeijingMidnight(nowMs: number): number {
  return Math.max(1, Math.ceil((DAY_MS - ((nowMs + BEIJING_OFFSET_MS) % DAY_MS)) / 1000));
}
