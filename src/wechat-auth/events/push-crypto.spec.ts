import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  aesKeyOf,
  decryptPush,
  encryptPush,
  PushDecryptError,
  pushSignature,
  signatureMatches,
} from './push-crypto';
import { thrownBy } from '../../testing/thrown';

/** An EncodingAESKey as WeChat generates them: 43 letters and digits. */
const ENCODING_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('push signatures (WeChat message push)', () => {
  it("reproduces the worked examples of WeChat's documentation (Token AAAAA)", () => {
    // The URL check: signature=f464b24f…&echostr=…&timestamp=1714036504&nonce=1514711492
    expect(pushSignature('AAAAA', '1714036504', '1514711492')).toBe(
      'f464b24fc39322e44b38aa78f5edd27bd1441696',
    );
    // A plain-mode push: signature=899cf89e…&timestamp=1714037059&nonce=486452656
    expect(pushSignature('AAAAA', '1714037059', '486452656')).toBe(
      '899cf89e464efb63f54ddac96b0a0a235f53aa78',
    );
  });

  it('sorts as strings before joining, so the order of the arguments does not matter', () => {
    expect(pushSignature('b', 'a', 'c', 'd')).toBe(pushSignature('d', 'c', 'b', 'a'));
    expect(pushSignature('AAAAA', '1', '2')).not.toBe(pushSignature('AAAAA', '1', '3'));
  });

  it('compares in constant time, case-insensitively on the presented hex, and refuses non-strings', () => {
    const sig = pushSignature('AAAAA', '1714036504', '1514711492');
    expect(signatureMatches(sig, sig)).toBe(true);
    expect(signatureMatches(sig.toUpperCase(), sig)).toBe(true);
    expect(signatureMatches(sig.slice(1), sig)).toBe(false);
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    expect(signatureMatches(flipped, sig)).toBe(false);
    expect(signatureMatches(undefined, sig)).toBe(false);
  });
});

describe('safe-mode decryption', () => {
  const key = aesKeyOf(ENCODING_AES_KEY);
  const message = JSON.stringify({ MsgType: 'event', Event: 'wxa_media_check', trace_id: 't-1' });

  /** The vector built by hand, step by step as the documentation describes it (not with encryptPush). */
  function handBuilt(msg: string, appid: string): string {
    const random = Buffer.alloc(16, 0x41);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(Buffer.byteLength(msg));
    const plain = Buffer.concat([random, len, Buffer.from(msg), Buffer.from(appid)]);
    const pad = 32 - (plain.length % 32);
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([
      cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
      cipher.final(),
    ]).toString('base64');
  }

  it('derives the 32-byte key from the 43 characters + "="', () => {
    expect(key).toHaveLength(32);
    // base64 round trip: the first 42 characters carry whole bytes and come back unchanged.
    expect(key.toString('base64').slice(0, 42)).toBe(ENCODING_AES_KEY.slice(0, 42));
  });

  it('decrypts a hand-built vector into the message and the appid', () => {
    expect(decryptPush(key, handBuilt(message, 'wxapp_one'))).toEqual({ message, appid: 'wxapp_one' });
  });

  it('pads to 32-byte blocks (not 16): a full block of padding when the plaintext is a multiple of 32', () => {
    // 16 + 4 + 12 = 32: WeChat adds a whole 32-byte block of 0x20.
    const encrypted = encryptPush(key, '{"a":"12345"}'.slice(0, 12), '', Buffer.alloc(16));
    const raw = Buffer.from(encrypted, 'base64');
    expect(raw).toHaveLength(64);
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(raw), decipher.final()]);
    expect([...plain.subarray(32)]).toEqual(new Array(32).fill(32));
  });

  it('encryptPush and decryptPush are inverse (multi-byte text included)', () => {
    const msg = JSON.stringify({ nickname: '微信用户', n: 1 });
    const out = decryptPush(key, encryptPush(key, msg, 'wxapp_two', Buffer.alloc(16, 3)));
    expect(out).toEqual({ message: msg, appid: 'wxapp_two' });
  });

  it('refuses another key, a cut ciphertext, and garbage without revealing the plaintext', () => {
    const good = handBuilt(message, 'wxapp_one');
    const other = aesKeyOf('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut');
    const attempts = [
      () => decryptPush(other, good),
      () => decryptPush(key, Buffer.from(good, 'base64').subarray(0, 40).toString('base64')),
      () => decryptPush(key, 'not base64 at all'),
      () => decryptPush(key, ''),
    ];
    for (const attempt of attempts) {
      const error = thrownBy(attempt);
      // Another key may, rarely, yield valid-looking padding: then the length or appid check fails later.
      if (error === undefined) continue;
      expect(error).toBeInstanceOf(PushDecryptError);
      expect(String(error)).not.toContain('wxa_media_check');
    }
    expect(() => decryptPush(key, '')).toThrow(PushDecryptError);
  });
});
