import type { WechatAppCredentials } from '../../config/app-config';
import { codeTag } from '../login/login-code';
import { LOGIN_CODE_ERRCODES } from '../login/login-code-call';
import { answerString, answerUserIds, type WechatUserIds } from '../upstream/wechat-answer';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import { codeExchange, type LogContext, type WechatRequest } from '../upstream/wechat-http';

/**
 * What `/sns/oauth2/access_token` answers that a login needs. The unionid comes only with snsapi_userinfo /
 * snsapi_login (and an app bound to an Open Platform account).
 */
export interface SnsAccessToken extends WechatUserIds {
  /** The user's web access token: only for `/sns/userinfo`, never stored or returned. */
  accessToken: string;
  scope?: string;
  /** `is_snapshotuser: 1`: a "snapshot page" visitor (a virtual account), not a person who signed in. */
  isSnapshotUser: boolean;
}

/** The user's web access token (not the interface token): an opaque string, bounded. */
const SNS_TOKEN = /^[\x21-\x7e]{1,512}$/;

/**
 * The errcodes of the user-token endpoints. The web access token is not the interface token: WeChat's
 * "invalid / expired credential" here is not a reason to replace the app's interface token.
 */
const USER_TOKEN_ERRCODES: Readonly<Record<number, ErrcodeMeaning<never>>> = {
  [WX.INVALID_CREDENTIAL]: { error: 'WX_UNAVAILABLE' },
  [WX.INVALID_ACCESS_TOKEN]: { error: 'WX_UNAVAILABLE' },
  [WX.ACCESS_TOKEN_EXPIRED]: { error: 'WX_UNAVAILABLE' },
};

/**
 * `GET /sns/oauth2/access_token` (grant_type=authorization_code): a browser (or mobile app) authorization
 * code for the user's openid, unionid and web access token. The same endpoint serves the Official Account
 * H5 pages, the website QR login and the mobile app's "Log in with WeChat": only the appid differs.
 * The code is single use: a call that may have reached WeChat is never resent.
 */
export class SnsAccessTokenCall implements WechatEndpoint<string, SnsAccessToken> {
  readonly name = 'sns_oauth2_access_token';
  readonly usesAccessToken = false;
  readonly noResendAfterDoubt = true;
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<SnsAccessToken>>> = {
    ...USER_TOKEN_ERRCODES,
    ...LOGIN_CODE_ERRCODES,
  };

  request(app: WechatAppCredentials, code: string): WechatRequest {
    return codeExchange('/sns/oauth2/access_token', app, { code });
  }

  logContext(code: string): LogContext {
    return { code: codeTag(code) };
  }

  parse(body: Record<string, unknown>): SnsAccessToken {
    const { scope, is_snapshotuser: snapshot } = body;
    return {
      ...answerUserIds(body),
      accessToken: answerString(body.access_token, SNS_TOKEN),
      ...(typeof scope === 'string' ? { scope } : {}),
      isSnapshotUser: snapshot === 1 || snapshot === '1',
    };
  }
}

/** What `/sns/userinfo` answers that a login keeps. */
export interface SnsUserInfo extends WechatUserIds {
  nickname?: string;
  /** `headimgurl`; WeChat sends an empty string when the user has no avatar. */
  avatarUrl?: string;
}

export interface SnsUserInfoInput {
  accessToken: string;
  openid: string;
}

/** WeChat's avatar URLs are https (older answers http); anything else is not kept. */
const AVATAR = /^https?:\/\/[^\s]{1,500}$/;

/**
 * `GET /sns/userinfo` with the user's web access token (snsapi_userinfo, snsapi_login): nickname, avatar
 * and unionid. 48001 (the scope did not grant it) ends as WX_UNAVAILABLE like any unexpected answer.
 */
export class SnsUserInfoCall implements WechatEndpoint<SnsUserInfoInput, SnsUserInfo> {
  readonly name = 'sns_userinfo';
  readonly usesAccessToken = false;
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<SnsUserInfo>>> = USER_TOKEN_ERRCODES;

  request(_app: WechatAppCredentials, input: SnsUserInfoInput): WechatRequest {
    return {
      method: 'GET',
      path: '/sns/userinfo',
      query: { access_token: input.accessToken, openid: input.openid, lang: 'zh_CN' },
    };
  }

  logContext(): LogContext {
    return {};
  }

  parse(body: Record<string, unknown>): SnsUserInfo {
    const { nickname, headimgurl } = body;
    return {
      ...answerUserIds(body),
      ...(typeof nickname === 'string' && nickname ? { nickname: nickname.slice(0, 64) } : {}),
      ...(typeof headimgurl === 'string' && AVATAR.test(headimgurl) ? { avatarUrl: headimgurl } : {}),
    };
  }
}
