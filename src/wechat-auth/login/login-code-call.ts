import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatRequest } from '../upstream/wechat-http';
import type { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { codeTag } from './login-code';

/** The errcodes of every exchange of a one-time login code (mini program, mobile app, browser). */
export const LOGIN_CODE_ERRCODES: Readonly<Record<number, ErrcodeMeaning<never>>> = {
  [WX.INVALID_CODE]: { error: 'WX_CODE_INVALID' },
  [WX.CODE_USED]: { error: 'WX_CODE_USED' },
  [WX.HIGH_RISK_USER]: { error: 'WX_USER_BLOCKED' },
};

/**
 * A login's exchange of a one-time code at WeChat; each door declares its request and its answer's fields.
 * Needs no interface token: login must not depend on that token's health. One instance per login, because
 * it carries the login's doubt: a call that timed out or was cut off after sending may have spent the code
 * at WeChat, so a later 40163 for that code (a retry of this login, or a new login after one that ended in
 * doubt) means "get a new code" (503 WX_RETRY_LOGIN), never 401.
 */
export abstract class LoginCodeCall<R> implements WechatEndpoint<string, R> {
  abstract readonly name: string;
  readonly usesAccessToken = false;
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<R>>> = LOGIN_CODE_ERRCODES;
  /** Whether an attempt of this login (or of an earlier one, per `spentBefore`) may have reached WeChat. */
  maybeSpent: boolean;

  constructor(private readonly spentBefore: boolean) {
    this.maybeSpent = spentBefore;
  }

  abstract request(app: WechatAppCredentials, code: string): WechatRequest;

  abstract parse(body: Record<string, unknown>): R;

  logContext(code: string): LogContext {
    return { code: codeTag(code) };
  }

  onFailure(failure: WechatUpstreamError, attempt: number): AppException | undefined {
    const doubtBefore = attempt > 0 || this.spentBefore;
    if (failure.details.maybeDelivered) this.maybeSpent = true;
    // An earlier attempt may have reached WeChat and consumed the code: the user must get a new code.
    if (doubtBefore && failure.details.errcode === WX.CODE_USED)
      return new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: failure });
    return undefined;
  }
}
