import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import type { ErrcodeMeaning, WechatEndpoint } from '../upstream/wechat-endpoint';
import { type LogContext, tokenPost, type WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

export interface TextCheckInput {
  content: string;
  /** The user's openid in the calling app (WeChat wants one that visited the mini program recently). */
  openid: string;
}

export type Suggest = 'pass' | 'review' | 'risky';

export interface TextVerdict {
  suggest: Suggest;
  /** WeChat's label (100 = normal; 20001 politics, 20002 porn, … — see docs/content-checks.md). */
  label: number;
}

const SUGGESTS: readonly string[] = ['pass', 'review', 'risky'];

/** The profile scene of WeChat's content checks (1 资料; 2 评论; 3 论坛; 4 社交日志). */
export const SCENE_PROFILE = 1;

/** The body of both checks: their own `fields`, then version 2 of the API, the profile scene and the user. */
export function profileCheckBody(openid: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { ...fields, version: 2, scene: SCENE_PROFILE, openid };
}

/** The openid has not visited the mini program recently enough for WeChat to check on its behalf. */
const OPENID_STALE = 61010;

/** The openid is not one of the app's users (40003 invalid openid, 43104 appid and openid do not match). */
const OPENID_INVALID = 40003;
const APPID_OPENID_MISMATCH = 43104;

const NOT_A_MINI_PROGRAM_USER =
  "WeChat's content check needs this user's identity in the mini program; log in there with wx.login first.";

/** 409 NO_WECHAT_SESSION: the user has no identity in a configured mini program to check the profile with. */
export function noMiniProgramIdentity(): AppException {
  return new AppException('NO_WECHAT_SESSION', {}, NOT_A_MINI_PROGRAM_USER);
}

/**
 * What both content checks' own errcodes mean: nothing a retry would change, so never a 503 "retry shortly".
 */
export const CONTENT_CHECK_ERRCODES: Readonly<Record<number, ErrcodeMeaning<never>>> = {
  [OPENID_STALE]: {
    error: 'NO_WECHAT_SESSION',
    message:
      'WeChat does not know this user as active in the mini program right now; log in with wx.login and retry.',
  },
  [OPENID_INVALID]: { error: 'NO_WECHAT_SESSION', message: NOT_A_MINI_PROGRAM_USER },
  [APPID_OPENID_MISMATCH]: { error: 'NO_WECHAT_SESSION', message: NOT_A_MINI_PROGRAM_USER },
};

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<TextVerdict>>> = CONTENT_CHECK_ERRCODES;

/** `body.result` as WeChat sends it in both checks' answers and in the `wxa_media_check` push. */
export function readVerdict(result: unknown): TextVerdict | undefined {
  const r = result as { suggest?: unknown; label?: unknown } | undefined;
  if (typeof r?.suggest !== 'string' || !SUGGESTS.includes(r.suggest)) return undefined;
  const label = typeof r.label === 'number' && Number.isInteger(r.label) ? r.label : 0;
  return { suggest: r.suggest as Suggest, label };
}

/**
 * `POST /wxa/msg_sec_check?access_token=…` (version 2): `{ content, version: 2, scene: 1, openid }` →
 * `{ errcode: 0, trace_id, result: { suggest, label }, detail: [...] }`. A pure check: resending is safe.
 */
export class MsgSecCheckCall implements WechatEndpoint<TextCheckInput, TextVerdict> {
  readonly name = 'msg_sec_check';
  readonly usesAccessToken = true;
  readonly meter = 'text' as const;
  readonly errcodes = ERRCODES;

  request(_app: WechatAppCredentials, input: TextCheckInput, accessToken: string | undefined): WechatRequest {
    return tokenPost(
      '/wxa/msg_sec_check',
      accessToken,
      profileCheckBody(input.openid, { content: input.content }),
    );
  }

  logContext(): LogContext {
    // Neither the text (personal data) nor the openid.
    return {};
  }

  parse(body: Record<string, unknown>): TextVerdict {
    const verdict = readVerdict(body.result);
    if (!verdict) throw new WechatUpstreamError('unparsable');
    return verdict;
  }
}
