import { randomBytes } from 'node:crypto';
import { encryptPush, pushSignature } from '../events/push-crypto';

/**
 * WeChat's side of the message push, for the sandbox and the tests: a push signed (and, with an AES key,
 * encrypted) exactly as WeChat sends one to `/wechat/events` (JSON format), so the receiving code is
 * exercised on the real wire format. The avatar flow will deliver its `wxa_media_check` verdicts with it.
 */

/** What goes to `/wechat/events`: the query string and the JSON body. */
export interface SignedPush {
  query: Record<string, string>;
  body: Record<string, unknown>;
}

export interface PushOptions {
  /** WECHAT_EVENT_TOKEN. */
  token: string;
  /** The AES key (base64-decoded EncodingAESKey + '='): safe mode; absent: plain mode. */
  aesKey?: Buffer;
  /** The mini program the push is for (appended inside the ciphertext in safe mode). */
  appid: string;
  event: Record<string, unknown>;
  /** Unix seconds; default: now. */
  timestamp?: number;
  /** Default: random digits, like WeChat's. */
  nonce?: string;
}

export function signedPush(o: PushOptions): SignedPush {
  const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = o.nonce ?? String(randomBytes(4).readUInt32BE());
  const signature = pushSignature(o.token, timestamp, nonce);
  if (!o.aesKey) return { query: { signature, timestamp, nonce }, body: o.event };
  const encrypted = encryptPush(o.aesKey, JSON.stringify(o.event), o.appid, randomBytes(16));
  return {
    query: {
      signature,
      timestamp,
      nonce,
      encrypt_type: 'aes',
      msg_signature: pushSignature(o.token, timestamp, nonce, encrypted),
    },
    // Safe mode's body: the mini program's original id and the ciphertext.
    body: { ToUserName: `gh_${o.appid}`, Encrypt: encrypted },
  };
}

/** WeChat's URL check (GET) when the push is configured. */
export function signedUrlCheck(
  token: string,
  echostr: string,
  timestamp = Math.floor(Date.now() / 1000),
  nonce = String(randomBytes(4).readUInt32BE()),
): Record<string, string> {
  const ts = String(timestamp);
  return { signature: pushSignature(token, ts, nonce), timestamp: ts, nonce, echostr };
}

/** A `wxa_media_check` event (media_check_async, version 2) as WeChat pushes it. */
export function mediaCheckEvent(o: {
  appid: string;
  traceId: string;
  suggest: 'pass' | 'review' | 'risky';
  label?: number;
  createTime?: number;
}): Record<string, unknown> {
  const label = o.label ?? (o.suggest === 'pass' ? 100 : 20002);
  return {
    ToUserName: `gh_${o.appid}`,
    FromUserName: 'sandbox-push',
    CreateTime: o.createTime ?? Math.floor(Date.now() / 1000),
    MsgType: 'event',
    Event: 'wxa_media_check',
    appid: o.appid,
    trace_id: o.traceId,
    version: 2,
    detail: [{ strategy: 'content_model', errcode: 0, suggest: o.suggest, label }],
    errcode: 0,
    errmsg: 'ok',
    result: { suggest: o.suggest, label },
  };
}
