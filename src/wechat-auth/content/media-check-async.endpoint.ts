import type { WechatAppCredentials } from '../../config/app-config';
import type { WechatEndpoint } from '../upstream/wechat-endpoint';
import { type LogContext, tokenPost, type WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { CONTENT_CHECK_ERRCODES, profileCheckBody } from './msg-sec-check.endpoint';

export interface MediaCheckInput {
  /** The image's URL: WeChat fetches it (https, public host: UpdateProfileRequest's rules). */
  mediaUrl: string;
  openid: string;
}

/** What a trace id may look like to be stored and matched (WeChat's are letters, digits and `-`). */
export const TRACE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** 1 audio, 2 image. */
const MEDIA_TYPE_IMAGE = 2;

/**
 * `POST /wxa/media_check_async?access_token=…` (version 2): `{ media_url, media_type: 2, version: 2,
 * scene: 1, openid }` → `{ errcode: 0, trace_id }`; the verdict comes later (within 30 minutes, WeChat
 * says) as a `wxa_media_check` push naming the trace id. Never resent after a doubtful attempt: a second
 * submission is a second (metered) check whose verdict nobody would wait for.
 */
export class MediaCheckAsyncCall implements WechatEndpoint<MediaCheckInput, string> {
  readonly name = 'media_check_async';
  readonly usesAccessToken = true;
  readonly noResendAfterDoubt = true;
  readonly meter = 'media' as const;
  readonly errcodes = CONTENT_CHECK_ERRCODES;

  request(
    _app: WechatAppCredentials,
    input: MediaCheckInput,
    accessToken: string | undefined,
  ): WechatRequest {
    return tokenPost(
      '/wxa/media_check_async',
      accessToken,
      profileCheckBody(input.openid, { media_url: input.mediaUrl, media_type: MEDIA_TYPE_IMAGE }),
    );
  }

  logContext(): LogContext {
    return {};
  }

  parse(body: Record<string, unknown>): string {
    const traceId = body.trace_id;
    if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) throw new WechatUpstreamError('unparsable');
    return traceId;
  }
}
