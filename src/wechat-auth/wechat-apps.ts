import { AppException } from '../common/errors/app.exception';
import { daysAt } from '../common/store/quota';
import type { AppConfig, WechatAppCredentials } from '../config/app-config';

/** The configured mini program `appid` names (default: WECHAT_APPID), or 400 UNKNOWN_APPID. */
export function wechatApp(config: AppConfig, appid: string | undefined): WechatAppCredentials {
  const app = config.wechat.apps.get(appid ?? config.wechat.defaultAppid);
  if (!app) throw new AppException('UNKNOWN_APPID');
  return app;
}

/** WeChat's day, for its daily quotas and for ours (`Quota`): Beijing time (UTC+8), midnight to midnight. */
export const BEIJING_DAY = daysAt(8 * 3600_000);
