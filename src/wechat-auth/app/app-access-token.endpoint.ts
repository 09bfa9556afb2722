import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import { codeTag, WECHAT_ID } from '../login/code2session.endpoint';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

/** What the mobile app's login keeps of WeChat's answer: who the user is, nothing else. */
export interface AppLoginIdentity {
  openid: string;
  unionid?: string;
}

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<AppLoginIdentity>>> = {
  [WX.INVALID_CODE]: { error: 'WX_CODE_INVALID' },
  [WX.CODE_USED]: { error: 'WX_CODE_USED' },
  [WX.HIGH_RISK_USER]: { error: 'WX_USER_BLOCKED' },
};

/**
 * `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` for a mobile app's
 * "Log in with WeChat" (the WeChat SDK's SendAuth code): WeChat answers `access_token`, `expires_in`,
 * `refresh_token`, `openid`, `scope` and, for an app bound to an Open Platform account, `unionid`; errors
 * as `errcode` (40029 invalid code, 40163 used code, …). The user's access and refresh tokens are not
 * kept: the login needs only the openid and unionid, and this service calls no user API for an app.
 *
 * Like `Code2SessionCall`, one instance per login carrying the login's doubt: after an attempt that may
 * have reached WeChat, 40163 means "get a new code" (503 WX_RETRY_LOGIN), never 401.
 */
export class AppAccessTokenCall implements WechatEndpoint<string, AppLoginIdentity> {
  readonly name = 'sns_oauth2_access_token_app';
  readonly usesAccessToken = false;
  readonly errcodes = ERRCODES;
  /** Whether an attempt of this login (or of an earlier one, per `spentBefore`) may have reached WeChat. */
  maybeSpent: boolean;

  constructor(private readonly spentBefore: boolean) {
    this.maybeSpent = spentBefore;
  }

  request(app: WechatAppCredentials, code: string): WechatRequest {
    return {
      method: 'GET',
      path: '/sns/oauth2/access_token',
      query: { appid: app.appid, secret: app.secret, code, grant_type: 'authorization_code' },
    };
  }

  logContext(code: string): LogContext {
    return { code: codeTag(code) };
  }

  parse(body: Record<string, unknown>): AppLoginIdentity {
    const { openid, unionid, access_token: accessToken } = body;
    const unionidOk =
      unionid === undefined || unionid === '' || (typeof unionid === 'string' && WECHAT_ID.test(unionid));
    // An answer without an access_token is not a successful exchange, whatever else it holds.
    if (
      typeof openid !== 'string' ||
      !WECHAT_ID.test(openid) ||
      typeof accessToken !== 'string' ||
      !unionidOk
    )
      throw new WechatUpstreamError('unparsable');
    return { openid, ...(typeof unionid === 'string' && unionid ? { unionid } : {}) };
  }

  onFailure(failure: WechatUpstreamError, attempt: number): AppException | undefined {
    const doubtBefore = attempt > 0 || this.spentBefore;
    if (failure.details.maybeDelivered) this.maybeSpent = true;
    if (doubtBefore && failure.details.errcode === WX.CODE_USED)
      return new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: failure });
    return undefined;
  }
}
