import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig } from '../../config/app-config';
import { decryptPush, PushDecryptError, pushSignature, signatureMatches } from './push-crypto';

/** A push whose `timestamp` is further than this from our clock (either way) is refused. */
export const PUSH_TIMESTAMP_WINDOW_S = 300;
/**
 * How long an accepted (timestamp, nonce) is remembered: a copy can only pass the timestamp check
 * within the window after (or before) its timestamp, so twice the window (plus a minute of slack for
 * our clock against the store's) covers every moment it could be replayed.
 */
export const PUSH_NONCE_TTL_MS = (2 * PUSH_TIMESTAMP_WINDOW_S + 60) * 1000;

/** The query string WeChat adds to every push (JSON format; `openid` and others are ignored). */
export interface PushQuery {
  signature?: unknown;
  timestamp?: unknown;
  nonce?: unknown;
  echostr?: unknown;
  encrypt_type?: unknown;
  msg_signature?: unknown;
}

/** One event as WeChat sends it (JSON format): `MsgType`, `Event` and the event's own fields. */
export type PushEvent = Readonly<Record<string, unknown>>;

/** WeChat's are digits; anything beyond letters and digits is not a timestamp or nonce it sent. */
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[A-Za-z0-9]{1,64}$/;

type Reason =
  | 'missing-parameters'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'replayed-nonce'
  | 'not-encrypted'
  | 'no-aes-key'
  | 'undecryptable'
  | 'foreign-appid'
  | 'bad-message';

/**
 * Decides whether a request to `/wechat/events` comes from WeChat: the signature over our Token (and,
 * in safe mode, the ciphertext), a timestamp within 5 minutes of our clock, and a nonce not seen before
 * (shared store, so a copy replayed to another instance is refused too). The signature is the whole
 * authentication: the route is public. Refusals are 401 WX_EVENT_REJECTED, logged with the reason only —
 * never the Token, the key, a signature or a body.
 */
@Injectable()
export class WechatPushVerifier {
  private readonly logger = new Logger('WechatEvents');

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly store: KvStore,
  ) {}

  /** Whether the push is configured here at all (WECHAT_EVENT_TOKEN set); the routes answer 404 when not. */
  get enabled(): boolean {
    return this.config.wechatEvents.token !== undefined;
  }

  /**
   * The URL check WeChat makes when the push is configured: answers `echostr` back. Its (timestamp, nonce) is
   * spent like a push's: the plain-mode signature is the same over both, so a URL check seen in a proxy log
   * must not become the signature of a forged POST.
   */
  async verifyUrl(query: PushQuery): Promise<string> {
    const token = this.token();
    const { timestamp, nonce } = this.stamp(query);
    if (typeof query.echostr !== 'string' || query.echostr === '') this.refuse('missing-parameters');
    if (!signatureMatches(str(query.signature), pushSignature(token, timestamp, nonce)))
      this.refuse('bad-signature');
    const echostr = query.echostr;
    await this.spend(timestamp, nonce);
    return echostr;
  }

  /**
   * A push (POST): checks it and returns the event. Plain mode: `signature` over Token, timestamp and
   * nonce — which does not cover the body, so with WECHAT_EVENT_AES_KEY set only safe-mode pushes are
   * taken. Safe mode (`encrypt_type=aes`): `msg_signature` over those and the body's `Encrypt`, then the
   * decrypted appid must be one of ours.
   */
  async verifyPush(query: PushQuery, body: unknown): Promise<PushEvent> {
    const token = this.token();
    const { timestamp, nonce } = this.stamp(query);
    const aesKey = this.config.wechatEvents.aesKey;
    let event: PushEvent;
    if (query.encrypt_type === 'aes') {
      if (!aesKey) this.refuse('no-aes-key');
      const encrypted = isObject(body) ? body.Encrypt : undefined;
      if (typeof encrypted !== 'string' || encrypted === '') this.refuse('missing-parameters');
      if (!signatureMatches(str(query.msg_signature), pushSignature(token, timestamp, nonce, encrypted)))
        this.refuse('bad-signature');
      event = this.open(aesKey, encrypted);
    } else {
      if (!signatureMatches(str(query.signature), pushSignature(token, timestamp, nonce)))
        this.refuse('bad-signature');
      if (aesKey) this.refuse('not-encrypted');
      if (!isObject(body)) this.refuse('bad-message');
      event = body;
    }
    await this.spend(timestamp, nonce);
    return event;
  }

  /** Each (timestamp, nonce) is taken once. Last, once the signature holds: else anyone could spend WeChat's. */
  private async spend(timestamp: string, nonce: string): Promise<void> {
    const tag = createHash('sha256').update(`${timestamp}:${nonce}`).digest('hex');
    if (!(await this.store.setIfAbsent(StoreKeys.wechatEventNonce(tag), '1', PUSH_NONCE_TTL_MS)))
      this.refuse('replayed-nonce');
  }

  private open(aesKey: Buffer, encrypted: string): PushEvent {
    let message: string;
    let appid: string;
    try {
      ({ message, appid } = decryptPush(aesKey, encrypted));
    } catch (e) {
      if (e instanceof PushDecryptError) this.refuse('undecryptable');
      throw e;
    }
    if (!this.config.wechat.apps.has(appid)) this.refuse('foreign-appid');
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      this.refuse('bad-message');
    }
    if (!isObject(parsed)) this.refuse('bad-message');
    return parsed;
  }

  private token(): string {
    const token = this.config.wechatEvents.token;
    if (token === undefined) throw new AppException('NOT_FOUND');
    return token;
  }

  private stamp(query: PushQuery): { timestamp: string; nonce: string } {
    const timestamp = str(query.timestamp);
    const nonce = str(query.nonce);
    if (!timestamp || !TIMESTAMP.test(timestamp) || !nonce || !NONCE.test(nonce))
      this.refuse('missing-parameters');
    if (Math.abs(this.clock.nowSeconds() - Number(timestamp)) > PUSH_TIMESTAMP_WINDOW_S)
      this.refuse('stale-timestamp');
    return { timestamp, nonce };
  }

  private refuse(reason: Reason): never {
    this.logger.warn({ reason }, 'wechat push refused');
    throw new AppException('WX_EVENT_REJECTED');
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
