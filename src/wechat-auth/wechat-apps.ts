import { AppException } from '../common/errors/app.exception';
import { daysAt } from '../common/store/quota';
import type { AppConfig, WechatAppCredentials } from '../config/app-config';
import type { IdentityKind } from '../users/identity-kind';

/** An app's door (WECHAT_APPS `appid:secret:kind`; the default app and entries without one: `miniprogram`). */
export function appKind(app: WechatAppCredentials): IdentityKind {
  return app.kind ?? 'miniprogram';
}

/**
 * The configured app `appid` names (default: WECHAT_APPID), or 400 UNKNOWN_APPID. With `kind`, an app of
 * another kind is unknown too: a mobile app's appid cannot log in as a mini program, nor the reverse.
 */
export function wechatApp(
  config: AppConfig,
  appid: string | undefined,
  kind?: IdentityKind,
): WechatAppCredentials {
  const app = config.wechat.apps.get(appid ?? config.wechat.defaultAppid);
  if (!app || (kind !== undefined && appKind(app) !== kind)) throw new AppException('UNKNOWN_APPID');
  return app;
}

/** WeChat's day, for its daily quotas and for ours (`Quota`): Beijing time (UTC+8), midnight to midnight. */
export const BEIJING_DAY = daysAt(8 * 3600_000);
