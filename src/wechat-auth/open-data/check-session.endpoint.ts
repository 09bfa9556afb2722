import type { WechatAppCredentials } from '../../config/app-config';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatRequest } from '../upstream/wechat-http';
import { checkSessionSignature } from './open-data-crypto';

export interface CheckSessionInput {
  openid: string;
  sessionKey: string;
}

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<boolean>>> = {
  // "invalid signature": the stored session_key is no longer the user's valid one (rotated or expired).
  [WX.INVALID_SIGNATURE]: { answer: false },
};

/**
 * `GET /wxa/checksession`: whether the session_key we hold is still the user's valid one. The key itself
 * never travels: only hex HMAC-SHA256 keyed with it over the empty string.
 */
export class CheckSessionEndpoint implements WechatEndpoint<CheckSessionInput, boolean> {
  readonly name = 'checksession';
  readonly usesAccessToken = true;
  readonly errcodes = ERRCODES;

  request(
    _app: WechatAppCredentials,
    input: CheckSessionInput,
    accessToken: string | undefined,
  ): WechatRequest {
    return {
      method: 'GET',
      path: '/wxa/checksession',
      query: {
        access_token: accessToken ?? '',
        openid: input.openid,
        signature: checkSessionSignature(input.sessionKey),
        sig_method: 'hmac_sha256',
      },
    };
  }

  logContext(): LogContext {
    return {};
  }

  parse(): boolean {
    // errcode 0 (the HTTP layer has already refused any other): the key is valid.
    return true;
  }
}
