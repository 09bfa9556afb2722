import { createHash } from 'node:crypto';
import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

export interface Code2SessionResult {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

/** openid/unionid: 28-char base64url-ish ids in practice; the columns hold 128. */
export const WECHAT_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** session_key: base64 of 16 bytes (24 chars); some slack, within the encrypted column's room. */
const SESSION_KEY = /^[A-Za-z0-9+/=]{16,64}$/;

/** A short, non-reversible tag for a login code, for correlating logs without logging the code. */
export function codeTag(code: string): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 12);
}

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<Code2SessionResult>>> = {
  [WX.INVALID_CODE]: { error: 'WX_CODE_INVALID' },
  [WX.CODE_USED]: { error: 'WX_CODE_USED' },
  [WX.HIGH_RISK_USER]: { error: 'WX_USER_BLOCKED' },
};

/**
 * `GET /sns/jscode2session`, one login's exchange of a wx.login() code. Needs no interface token: login must
 * not depend on that token's health. One instance per login, because it carries the login's doubt: a call
 * that timed out or was cut off after sending may have spent the code at WeChat, so a later 40163 for
 * that code (a retry of this login, or a new login after one that ended in doubt) means "call wx.login
 * again" (503 WX_RETRY_LOGIN), never 401.
 */
export class Code2SessionCall implements WechatEndpoint<string, Code2SessionResult> {
  readonly name = 'jscode2session';
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
      path: '/sns/jscode2session',
      query: { appid: app.appid, secret: app.secret, js_code: code, grant_type: 'authorization_code' },
    };
  }

  logContext(code: string): LogContext {
    return { code: codeTag(code) };
  }

  parse(body: Record<string, unknown>): Code2SessionResult {
    const { openid, session_key: sessionKey, unionid } = body;
    const unionidOk =
      unionid === undefined || unionid === '' || (typeof unionid === 'string' && WECHAT_ID.test(unionid));
    if (
      typeof openid !== 'string' ||
      !WECHAT_ID.test(openid) ||
      typeof sessionKey !== 'string' ||
      !SESSION_KEY.test(sessionKey) ||
      !unionidOk
    )
      throw new WechatUpstreamError('unparsable');
    return { openid, sessionKey, ...(typeof unionid === 'string' && unionid ? { unionid } : {}) };
  }

  onFailure(failure: WechatUpstreamError, attempt: number): AppException | undefined {
    const doubtBefore = attempt > 0 || this.spentBefore;
    if (failure.details.maybeDelivered) this.maybeSpent = true;
    // An earlier attempt may have reached WeChat and consumed the code: the user must wx.login() again.
    if (doubtBefore && failure.details.errcode === WX.CODE_USED)
      return new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: failure });
    return undefined;
  }
}
