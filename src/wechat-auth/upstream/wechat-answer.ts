import { WechatUpstreamError } from './wechat-upstream.error';

/*
 * Reading a successful WeChat answer: each endpoint's `parse` names its own fields with these, so a field
 * of the wrong type or shape ends the call as 'unparsable' the same way everywhere.
 */

/** openid/unionid: 28-char base64url-ish ids in practice; the columns hold 128. */
export const WECHAT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Who the user is, as every login answer (and `/sns/userinfo`) names them. */
export interface WechatUserIds {
  openid: string;
  unionid?: string;
}

/** A required string field, of `shape` when given; throws WechatUpstreamError('unparsable') otherwise. */
export function answerString(value: unknown, shape?: RegExp): string {
  if (typeof value !== 'string' || (shape !== undefined && !shape.test(value)))
    throw new WechatUpstreamError('unparsable');
  return value;
}

/**
 * The openid (required) and unionid of an answer. WeChat leaves the unionid out, or sends it empty, for an
 * app without an Open Platform account: both mean "none"; any other malformed value is unparsable.
 */
export function answerUserIds(body: Record<string, unknown>): WechatUserIds {
  const openid = answerString(body.openid, WECHAT_ID);
  const { unionid } = body;
  if (unionid === undefined || unionid === '') return { openid };
  return { openid, unionid: answerString(unionid, WECHAT_ID) };
}
