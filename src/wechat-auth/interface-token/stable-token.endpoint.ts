import type { WechatAppCredentials } from '../../config/app-config';
import type { ErrcodeMeaning, WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

export interface StableToken {
  accessToken: string;
  /** Seconds, as WeChat said (≤ 7200). */
  expiresIn: number;
}

/** WeChat's tokens are ~150 chars today and documented to grow to 512; anything else is not a token. */
const ACCESS_TOKEN = /^[\x21-\x7e]{16,512}$/;

/**
 * `POST /cgi-bin/stable_token` in normal mode: every caller gets the same token while it is valid, so
 * several servers share it without invalidating each other (unlike `/cgi-bin/token`). `forceRefresh`
 * invalidates the current token and is rationed by the caller (InterfaceTokenService).
 */
export class StableTokenEndpoint implements WechatEndpoint<{ forceRefresh: boolean }, StableToken> {
  readonly name = 'stable_token';
  readonly usesAccessToken = false;
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<StableToken>>> = {};

  request(app: WechatAppCredentials, input: { forceRefresh: boolean }): WechatRequest {
    return {
      method: 'POST',
      path: '/cgi-bin/stable_token',
      json: {
        grant_type: 'client_credential',
        appid: app.appid,
        secret: app.secret,
        ...(input.forceRefresh ? { force_refresh: true } : {}),
      },
    };
  }

  logContext(input: { forceRefresh: boolean }): LogContext {
    return input.forceRefresh ? { forceRefresh: 'true' } : {};
  }

  parse(body: Record<string, unknown>): StableToken {
    const { access_token: accessToken, expires_in: expiresIn } = body;
    if (
      typeof accessToken !== 'string' ||
      !ACCESS_TOKEN.test(accessToken) ||
      typeof expiresIn !== 'number' ||
      !Number.isInteger(expiresIn) ||
      expiresIn <= 0 ||
      expiresIn > 86_400
    )
      throw new WechatUpstreamError('unparsable');
    return { accessToken, expiresIn };
  }
}
