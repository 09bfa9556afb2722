import type { WechatAppCredentials } from '../../config/app-config';
import { LoginCodeCall } from '../login/login-code-call';
import { answerString, answerUserIds, type WechatUserIds } from '../upstream/wechat-answer';
import { codeExchange, type WechatRequest } from '../upstream/wechat-http';

/** What the mobile app's login keeps of WeChat's answer: who the user is, nothing else. */
export type AppLoginIdentity = WechatUserIds;

/**
 * `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` for a mobile app's
 * "Log in with WeChat" (the WeChat SDK's SendAuth code): WeChat answers `access_token`, `expires_in`,
 * `refresh_token`, `openid`, `scope` and, for an app bound to an Open Platform account, `unionid`; errors
 * as `errcode` (40029 invalid code, 40163 used code, …). The user's access and refresh tokens are not
 * kept: the login needs only the openid and unionid, and this service calls no user API for an app.
 *
 * Like `Code2SessionCall`, one instance per login carrying the login's doubt (LoginCodeCall): after an
 * attempt that may have reached WeChat, 40163 means "get a new code" (503 WX_RETRY_LOGIN), never 401.
 */
export class AppAccessTokenCall extends LoginCodeCall<AppLoginIdentity> {
  readonly name = 'sns_oauth2_access_token_app';

  request(app: WechatAppCredentials, code: string): WechatRequest {
    return codeExchange('/sns/oauth2/access_token', app, { code });
  }

  parse(body: Record<string, unknown>): AppLoginIdentity {
    // An answer without an access_token is not a successful exchange, whatever else it holds.
    answerString(body.access_token);
    return answerUserIds(body);
  }
}
