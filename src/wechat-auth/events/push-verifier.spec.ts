import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { testConfig } from '../../testing/test-config';
import { signedPush, signedUrlCheck } from '../sandbox/sandbox-events';
import { aesKeyOf } from './push-crypto';
import { WechatPushVerifier } from './push-verifier';

const TOKEN = 'pushToken123';
const ENCODING_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const EVENT = { MsgType: 'event', Event: 'debug_demo', debug_str: 'hello world' };

function setup(env: Record<string, string> = { WECHAT_EVENT_TOKEN: TOKEN }) {
  const clock = new FakeClock(Date.UTC(2026, 11, 6, 6, 0, 0));
  const store = new MemoryKvStore(clock);
  const verifier = new WechatPushVerifier(testConfig(env), clock, store);
  const now = () => clock.nowSeconds();
  return { clock, store, verifier, now };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof AppException) return `${e.getStatus()} ${e.code}`;
    throw e;
  }
  return undefined;
}

describe('WechatPushVerifier', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('is off (404) without WECHAT_EVENT_TOKEN', async () => {
    const { verifier } = setup({});
    expect(verifier.enabled).toBe(false);
    expect(await codeOf(() => verifier.verifyUrl(signedUrlCheck(TOKEN, 'x')))).toBe('404 NOT_FOUND');
    const push = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT });
    expect(await codeOf(verifier.verifyPush(push.query, push.body))).toBe('404 NOT_FOUND');
  });

  it('answers the URL check with echostr only when signed with our Token', async () => {
    const { verifier, now } = setup();
    expect(await verifier.verifyUrl(signedUrlCheck(TOKEN, '4375120948345356249', now()))).toBe(
      '4375120948345356249',
    );
    expect(await codeOf(() => verifier.verifyUrl(signedUrlCheck('otherToken', 'e', now())))).toBe(
      '401 WX_EVENT_REJECTED',
    );
    const { echostr: _, ...noEcho } = signedUrlCheck(TOKEN, 'e', now());
    expect(await codeOf(() => verifier.verifyUrl(noEcho))).toBe('401 WX_EVENT_REJECTED');
  });

  it("spends a URL check's (timestamp, nonce): neither the same check again nor a forged plain push with its signature", async () => {
    const { verifier, now } = setup();
    const check = signedUrlCheck(TOKEN, 'echo-1', now());
    expect(await verifier.verifyUrl(check)).toBe('echo-1');
    expect(await codeOf(() => verifier.verifyUrl(check))).toBe('401 WX_EVENT_REJECTED');
    const forgedBody = { MsgType: 'event', Event: 'subscribe', FromUserName: 'forged' };
    const { signature, timestamp, nonce } = check;
    expect(await codeOf(verifier.verifyPush({ signature, timestamp, nonce }, forgedBody))).toBe(
      '401 WX_EVENT_REJECTED',
    );
  });

  it('takes a plain push signed with our Token, and refuses a forged one', async () => {
    const { verifier, now } = setup();
    const push = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: now() });
    expect(await verifier.verifyPush(push.query, push.body)).toEqual(EVENT);
    const forged = signedPush({ token: 'guessed', appid: 'wxapp_one', event: EVENT, timestamp: now() });
    expect(await codeOf(verifier.verifyPush(forged.query, forged.body))).toBe('401 WX_EVENT_REJECTED');
    const unsigned = { timestamp: String(now()), nonce: '1' };
    expect(await codeOf(verifier.verifyPush(unsigned, EVENT))).toBe('401 WX_EVENT_REJECTED');
  });

  it('refuses timestamps more than 5 minutes off either way, in fake time', async () => {
    const { verifier, now, clock } = setup();
    const at = now();
    const edge = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: at - 300 });
    expect(await verifier.verifyPush(edge.query, edge.body)).toEqual(EVENT);
    const old = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: at - 301 });
    expect(await codeOf(verifier.verifyPush(old.query, old.body))).toBe('401 WX_EVENT_REJECTED');
    const ahead = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: at + 301 });
    expect(await codeOf(verifier.verifyPush(ahead.query, ahead.body))).toBe('401 WX_EVENT_REJECTED');
    // The same push, valid now, is stale once our clock moves on.
    const later = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: at });
    clock.advance(301_000);
    expect(await codeOf(verifier.verifyPush(later.query, later.body))).toBe('401 WX_EVENT_REJECTED');
  });

  it('refuses a replayed nonce for as long as its timestamp could pass; a forged push burns no nonce', async () => {
    const { verifier, now, clock } = setup();
    const push = signedPush({
      token: TOKEN,
      appid: 'wxapp_one',
      event: EVENT,
      timestamp: now(),
      nonce: '42',
    });
    const forged = signedPush({
      token: 'guessed',
      appid: 'wxapp_one',
      event: EVENT,
      timestamp: now(),
      nonce: '42',
    });
    expect(await codeOf(verifier.verifyPush(forged.query, forged.body))).toBe('401 WX_EVENT_REJECTED');
    expect(await verifier.verifyPush(push.query, push.body)).toEqual(EVENT);
    expect(await codeOf(verifier.verifyPush(push.query, push.body))).toBe('401 WX_EVENT_REJECTED');
    clock.advance(299_000);
    expect(await codeOf(verifier.verifyPush(push.query, push.body))).toBe('401 WX_EVENT_REJECTED');
    // Another nonce at the same second is another push.
    const next = signedPush({
      token: TOKEN,
      appid: 'wxapp_one',
      event: EVENT,
      timestamp: now(),
      nonce: '43',
    });
    expect(await verifier.verifyPush(next.query, next.body)).toEqual(EVENT);
  });

  describe('safe mode', () => {
    const env = { WECHAT_EVENT_TOKEN: TOKEN, WECHAT_EVENT_AES_KEY: ENCODING_AES_KEY };
    const aesKey = aesKeyOf(ENCODING_AES_KEY);
    /** A push to wxapp_one encrypted with our key, sent at `timestamp`; `o` changes any of that. */
    const encryptedPush = (timestamp: number, o: Partial<Parameters<typeof signedPush>[0]> = {}) =>
      signedPush({ token: TOKEN, aesKey, appid: 'wxapp_one', event: EVENT, timestamp, ...o });

    it('checks msg_signature over the ciphertext, decrypts, and checks the appid is ours', async () => {
      const { verifier, now } = setup(env);
      const push = encryptedPush(now(), { appid: 'wxapp_two' });
      expect(push.body).not.toHaveProperty('Event');
      expect(await verifier.verifyPush(push.query, push.body)).toEqual(EVENT);

      const foreign = encryptedPush(now(), { appid: 'wx_not_ours' });
      expect(await codeOf(verifier.verifyPush(foreign.query, foreign.body))).toBe('401 WX_EVENT_REJECTED');
    });

    it('refuses a swapped ciphertext (msg_signature covers it) and a wrong key', async () => {
      const { verifier, now } = setup(env);
      const a = encryptedPush(now());
      const b = encryptedPush(now(), { event: { MsgType: 'x' } });
      expect(await codeOf(verifier.verifyPush(a.query, b.body))).toBe('401 WX_EVENT_REJECTED');
      const otherKey = aesKeyOf('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut');
      const c = encryptedPush(now(), { aesKey: otherKey });
      expect(await codeOf(verifier.verifyPush(c.query, c.body))).toBe('401 WX_EVENT_REJECTED');
    });

    it('with an AES key configured, a plain push is refused (its signature does not cover the body)', async () => {
      const { verifier, now } = setup(env);
      const plain = signedPush({ token: TOKEN, appid: 'wxapp_one', event: EVENT, timestamp: now() });
      expect(await codeOf(verifier.verifyPush(plain.query, plain.body))).toBe('401 WX_EVENT_REJECTED');
    });

    it('without an AES key, an encrypted push is refused', async () => {
      const { verifier, now } = setup();
      const push = encryptedPush(now());
      expect(await codeOf(verifier.verifyPush(push.query, push.body))).toBe('401 WX_EVENT_REJECTED');
    });
  });

  it('configuration: the Token and key formats, and the key needs the Token (values never in the message)', () => {
    expect(() => testConfig({ WECHAT_EVENT_TOKEN: 'a!' })).toThrow(/WECHAT_EVENT_TOKEN must be 3–32 letters/);
    expect(() => testConfig({ WECHAT_EVENT_TOKEN: TOKEN, WECHAT_EVENT_AES_KEY: 'short' })).toThrow(
      /WECHAT_EVENT_AES_KEY must be the 43-character EncodingAESKey/,
    );
    let message = '';
    try {
      testConfig({ WECHAT_EVENT_AES_KEY: ENCODING_AES_KEY });
    } catch (e) {
      message = String(e);
    }
    expect(message).toMatch(/needs WECHAT_EVENT_TOKEN/);
    expect(message).not.toContain(ENCODING_AES_KEY);
    expect(
      testConfig({ WECHAT_EVENT_TOKEN: TOKEN, WECHAT_EVENT_AES_KEY: ENCODING_AES_KEY }).wechatEvents.aesKey,
    ).toEqual(aesKeyOf(ENCODING_AES_KEY));
  });
});
