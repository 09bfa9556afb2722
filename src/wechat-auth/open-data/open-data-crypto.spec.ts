import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import {
  AES_BLOCK_BYTES,
  MAX_BASE64_CHARS,
  OpenDataError,
  type OpenDataErrorReason,
  WATERMARK_MAX_FUTURE_SKEW_SECONDS,
  checkSessionSignature,
  checkWatermark,
  decodeWechatBase64,
  decryptOpenData,
  splitWatermark,
  verifyRawDataSignature,
} from './open-data-crypto';

const APPID = 'wx1234567890abcdef';
const NOW_MS = 1_700_000_000_000;
const NOW_S = NOW_MS / 1000;

/** What WeChat does: AES-128-CBC + PKCS#7 under the 16-byte session key, everything base64. */
function seal(
  plaintext: string | Buffer,
  opts: { key?: Buffer; iv?: Buffer; autoPadding?: boolean } = {},
): { sessionKey: string; encryptedData: string; iv: string } {
  const key = opts.key ?? randomBytes(16);
  const iv = opts.iv ?? randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  cipher.setAutoPadding(opts.autoPadding ?? true);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    sessionKey: key.toString('base64'),
    encryptedData: body.toString('base64'),
    iv: iv.toString('base64'),
  };
}

const payload = (extra: Record<string, unknown> = {}) => ({
  nickName: '微信用户 🐼',
  gender: 1,
  watermark: { appid: APPID, timestamp: NOW_S },
  ...extra,
});

/** Runs fn, asserts it throws an OpenDataError (and nothing else), returns it. */
function openDataErrorOf(fn: () => unknown): OpenDataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OpenDataError);
    return e as OpenDataError;
  }
  throw new Error('expected an OpenDataError, nothing was thrown');
}

function expectReason(fn: () => unknown, reason: OpenDataErrorReason, field?: string): OpenDataError {
  const e = openDataErrorOf(fn);
  expect(e.reason).toBe(reason);
  if (field !== undefined) expect(e.field).toBe(field);
  return e;
}

/** Deterministic bytes (so the tests that depend on which keys pass PKCS#7 by chance never flake). */
const det = (label: string, n = 16) => createHash('sha256').update(label).digest().subarray(0, n);

/** Draws random bytes until their base64 contains a '+', so the space repair is really exercised. */
function bytesWithPlus(n: number): Buffer {
  for (;;) {
    const b = randomBytes(n);
    if (b.toString('base64').includes('+')) return b;
  }
}

describe('OpenDataError', () => {
  it.each<[OpenDataErrorReason, string | undefined]>([
    ['invalid_base64', 'iv'],
    ['decrypt_failed', undefined],
    ['signature_mismatch', undefined],
    ['watermark_missing', undefined],
    ['watermark_appid', undefined],
    ['watermark_stale', undefined],
  ])('%s carries its reason and field, and is an Error', (reason, field) => {
    const e = new OpenDataError(reason, field);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('OpenDataError');
    expect(e.reason).toBe(reason);
    expect(e.field).toBe(field);
    expect(e.message.length).toBeGreaterThan(0);
  });

  it('names the field in an invalid_base64 message', () => {
    expect(new OpenDataError('invalid_base64', 'encryptedData').message).toContain('encryptedData');
  });
});

describe('decodeWechatBase64', () => {
  it.each<[string, string, number[]]>([
    ['one byte, two pad characters', 'QQ==', [0x41]],
    ['two bytes, one pad character', 'QUI=', [0x41, 0x42]],
    ['three bytes, no padding', 'QUJD', [0x41, 0x42, 0x43]],
    ['the + and / characters', '+/+/', [0xfb, 0xff, 0xbf]],
    ['spaces repaired to + (form/URL decoding damage)', ' / /', [0xfb, 0xff, 0xbf]],
    ['a space in the middle', 'a+b/', [0x6b, 0xe6, 0xff]],
    ['the same value with its + turned into a space', 'a b/', [0x6b, 0xe6, 0xff]],
  ])('decodes %s', (_label, value, bytes) => {
    expect([...decodeWechatBase64('f', value)]).toEqual(bytes);
  });

  it('round-trips random values of every length 1..64, with + turned to spaces', () => {
    for (let n = 1; n <= 64; n++) {
      const bytes = randomBytes(n);
      const damaged = bytes.toString('base64').replaceAll('+', ' ');
      expect(decodeWechatBase64('f', damaged, n).equals(bytes)).toBe(true);
    }
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['missing padding', 'QQ'],
    ['too little padding', 'QQ='],
    ['too much padding', 'Q==='],
    ['only padding', '===='],
    ['padding in the middle', 'QQ==QUJD'],
    ['a length that is not a multiple of 4', 'QUJDR'],
    ['non-zero trailing bits (one byte)', 'QR=='],
    ['non-zero trailing bits (two bytes)', 'QUJ='],
    ['the URL-safe alphabet (-)', 'a-b_'],
    ['the URL-safe alphabet, unpadded', 'QUJD-w'],
    ['a percent-encoded +', 'QUJD%2B=='],
    ['a newline', 'QUJD\nQUJD'],
    ['a trailing newline', 'QUJD\n'],
    ['a tab', 'QU\tD'],
    ['a leading space (becomes a 5th character)', ' QUJD'],
    ['a trailing space after padding', 'QUI= '],
    ['a non-ASCII character', 'QUJé'],
    ['a full-width letter', 'ＱＵＪＤ'],
    ['a NUL', 'QUJ\0'],
  ])('refuses %s', (_label, value) => {
    expectReason(() => decodeWechatBase64('iv', value), 'invalid_base64', 'iv');
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 1234],
    ['an object', { toString: () => 'QUJD' }],
  ])('refuses a non-string (%s) from untyped callers', (_label, value) => {
    expectReason(() => decodeWechatBase64('iv', value as string), 'invalid_base64', 'iv');
  });

  it.each<[string, string, number]>([
    ['3 bytes where 16 are expected', 'QUJD', 16],
    ['15 bytes where 16 are expected', randomBytes(15).toString('base64'), 16],
    ['17 bytes where 16 are expected', randomBytes(17).toString('base64'), 16],
    ['16 bytes where 15 are expected', randomBytes(16).toString('base64'), 15],
    ['16 bytes where 17 are expected', randomBytes(16).toString('base64'), 17],
  ])('refuses %s', (_label, value, expected) => {
    expectReason(() => decodeWechatBase64('session_key', value, expected), 'invalid_base64', 'session_key');
  });

  it('accepts up to MAX_BASE64_CHARS and refuses anything longer before decoding', () => {
    expect(decodeWechatBase64('f', 'A'.repeat(MAX_BASE64_CHARS)).length).toBe((MAX_BASE64_CHARS / 4) * 3);
    expectReason(() => decodeWechatBase64('f', 'A'.repeat(MAX_BASE64_CHARS + 4)), 'invalid_base64', 'f');
  });

  it('names the field, never the value, in its message', () => {
    const value = 'SECRET_VALUE_xyz-';
    const e = expectReason(() => decodeWechatBase64('encryptedData', value), 'invalid_base64');
    expect(e.message).toContain('encryptedData');
    expect(e.message).not.toContain(value);
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain(value);
  });
});

describe('decryptOpenData', () => {
  it('round-trips a WeChat-style payload (UTF-8, nested objects, watermark)', () => {
    const data = payload({ nested: { a: [1, 2, { b: null }] } });
    const f = seal(JSON.stringify(data));
    expect(decryptOpenData(f.sessionKey, f.encryptedData, f.iv)).toEqual(data);
  });

  it.each([0, 1, 15, 16, 17, 31, 32, 33, 1000])(
    'round-trips a payload whose JSON is padded to %i extra bytes',
    (n) => {
      const data = { s: 'x'.repeat(n) };
      const f = seal(JSON.stringify(data));
      expect(decryptOpenData(f.sessionKey, f.encryptedData, f.iv)).toEqual(data);
    },
  );

  it('repairs a + turned into a space in encryptedData', () => {
    const data = payload();
    let f: ReturnType<typeof seal>;
    do f = seal(JSON.stringify(data));
    while (!f.encryptedData.includes('+'));
    expect(decryptOpenData(f.sessionKey, f.encryptedData.replaceAll('+', ' '), f.iv)).toEqual(data);
  });

  it('repairs a + turned into a space in iv', () => {
    const data = payload();
    const f = seal(JSON.stringify(data), { iv: bytesWithPlus(16) });
    expect(f.iv).toContain('+');
    expect(decryptOpenData(f.sessionKey, f.encryptedData, f.iv.replaceAll('+', ' '))).toEqual(data);
  });

  it('repairs spaces in both at once (a whole form-decoded body)', () => {
    const data = payload();
    let f: ReturnType<typeof seal>;
    do f = seal(JSON.stringify(data), { iv: bytesWithPlus(16) });
    while (!f.encryptedData.includes('+'));
    const spaced = (s: string) => s.replaceAll('+', ' ');
    expect(decryptOpenData(f.sessionKey, spaced(f.encryptedData), spaced(f.iv))).toEqual(data);
  });

  describe('wrong key (a session_key rotated by a later wx.login)', () => {
    // Fully deterministic: fixed key, iv and plaintext, and wrong keys derived from a counter.
    const rightKey = det('right key');
    const fixture = seal(JSON.stringify(payload()), { key: rightKey, iv: det('iv') });
    const wrongKeys = Array.from({ length: 3000 }, (_, i) => det(`wrong key ${i}`));

    it('always throws OpenDataError(decrypt_failed), never another error type', () => {
      for (const key of wrongKeys) {
        expectReason(
          () => decryptOpenData(key.toString('base64'), fixture.encryptedData, fixture.iv),
          'decrypt_failed',
        );
      }
    });

    it('includes wrong keys that pass the PKCS#7 check by chance (caught by UTF-8/JSON)', () => {
      const passPadding = wrongKeys.filter((key) => {
        const d = createDecipheriv('aes-128-cbc', key, Buffer.from(fixture.iv, 'base64'));
        try {
          d.update(Buffer.from(fixture.encryptedData, 'base64'));
          d.final();
          return true;
        } catch {
          return false;
        }
      });
      // ≈ 1/256 of 3000; deterministic because the keys are.
      expect(passPadding.length).toBeGreaterThan(0);
    });
  });

  it.each<[string, (f: ReturnType<typeof seal>) => [string, string, string], OpenDataErrorReason, string]>([
    [
      'an iv of 15 bytes',
      (f) => [f.sessionKey, f.encryptedData, randomBytes(15).toString('base64')],
      'invalid_base64',
      'iv',
    ],
    [
      'an iv of 17 bytes',
      (f) => [f.sessionKey, f.encryptedData, randomBytes(17).toString('base64')],
      'invalid_base64',
      'iv',
    ],
    [
      'an iv in the URL-safe alphabet',
      (f) => [f.sessionKey, f.encryptedData, 'a-b_a-b_a-b_a-b_a-b_aQ=='],
      'invalid_base64',
      'iv',
    ],
    ['an empty iv', (f) => [f.sessionKey, f.encryptedData, ''], 'invalid_base64', 'iv'],
    ['an empty encryptedData', (f) => [f.sessionKey, '', f.iv], 'invalid_base64', 'encryptedData'],
    [
      'encryptedData truncated inside the base64 (bad length)',
      (f) => [f.sessionKey, f.encryptedData.slice(0, -3), f.iv],
      'invalid_base64',
      'encryptedData',
    ],
    [
      'encryptedData truncated to a partial block',
      (f) => [f.sessionKey, Buffer.from(f.encryptedData, 'base64').subarray(0, 31).toString('base64'), f.iv],
      'invalid_base64',
      'encryptedData',
    ],
    [
      'encryptedData of one byte',
      (f) => [f.sessionKey, Buffer.from(f.encryptedData, 'base64').subarray(0, 1).toString('base64'), f.iv],
      'invalid_base64',
      'encryptedData',
    ],
  ])('refuses %s as invalid_base64', (_label, args, reason, field) => {
    const f = seal(JSON.stringify(payload()));
    expectReason(() => decryptOpenData(...args(f)), reason, field);
  });

  it.each<[string, string]>([
    ['15 bytes', randomBytes(15).toString('base64')],
    ['17 bytes', randomBytes(17).toString('base64')],
    ['32 bytes (an AES-256 key)', randomBytes(32).toString('base64')],
    ['empty', ''],
    ['not base64', 'not a session key!!!!!!!'],
  ])('reports a session_key of %s as decrypt_failed (server state: log in again)', (_label, sessionKey) => {
    const f = seal(JSON.stringify(payload()));
    expectReason(() => decryptOpenData(sessionKey, f.encryptedData, f.iv), 'decrypt_failed', 'session_key');
  });

  it('refuses ciphertext truncated by whole blocks (bad padding, right key)', () => {
    // The last byte before the cut is JSON (ASCII ≥ 0x20), never a valid PKCS#7 pad byte (1..16).
    const f = seal(JSON.stringify(payload({ long: 'y'.repeat(100) })));
    const body = Buffer.from(f.encryptedData, 'base64');
    for (let blocks = 1; blocks < body.length / AES_BLOCK_BYTES; blocks++) {
      const cut = body.subarray(0, blocks * AES_BLOCK_BYTES).toString('base64');
      expectReason(() => decryptOpenData(f.sessionKey, cut, f.iv), 'decrypt_failed');
    }
  });

  it('refuses a wrong iv (first block garbled: not JSON)', () => {
    const f = seal(JSON.stringify(payload()));
    expectReason(
      () => decryptOpenData(f.sessionKey, f.encryptedData, randomBytes(16).toString('base64')),
      'decrypt_failed',
    );
  });

  /** One 16-byte block: JSON, spaces, then the given (bad) pad bytes. */
  const block = (...tail: number[]) =>
    Buffer.concat([Buffer.from('{"a":1}'.padEnd(16 - tail.length, ' ')), Buffer.from(tail)]);

  it.each<[string, Buffer]>([
    ['a last byte of 0', block(0)],
    ['a last byte of 17', block(17)],
    ['a last byte of 0xff', block(0xff)],
    ['inconsistent pad bytes', block(1, 2, 3)],
    ['a claimed 16-byte pad over JSON', block(16)],
  ])('refuses bad PKCS#7 padding (%s)', (_label, block) => {
    expect(block.length).toBe(16);
    const f = seal(block, { autoPadding: false });
    expectReason(() => decryptOpenData(f.sessionKey, f.encryptedData, f.iv), 'decrypt_failed');
  });

  it.each<[string, Buffer]>([
    ['a lone continuation byte', Buffer.from([0x7b, 0x7d, 0x80])],
    ['0xff', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    [
      'a truncated multi-byte sequence',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe4, 0xb8, 0x22, 0x7d]),
    ],
    ['an overlong encoding', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d])],
    ['a UTF-16 surrogate', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
  ])('refuses invalid UTF-8 plaintext (%s) instead of decoding it to U+FFFD', (_label, plaintext) => {
    const f = seal(plaintext);
    expectReason(() => decryptOpenData(f.sessionKey, f.encryptedData, f.iv), 'decrypt_failed');
  });

  it.each<[string, string]>([
    ['an array', '[]'],
    ['an array of objects', '[{"watermark":{}}]'],
    ['a string', '"x"'],
    ['a number', '1'],
    ['null', 'null'],
    ['a boolean', 'true'],
    ['not JSON at all', 'SECRET-PLAINTEXT hello'],
    ['truncated JSON', '{"a":'],
    ['empty plaintext', ''],
    ['JSON followed by garbage', '{"a":1}x'],
  ])('refuses %s as decrypt_failed', (_label, plaintext) => {
    const f = seal(plaintext);
    expectReason(() => decryptOpenData(f.sessionKey, f.encryptedData, f.iv), 'decrypt_failed');
  });

  it('never leaks plaintext or key material in the error (no message, no cause)', () => {
    const f = seal('SECRET-PLAINTEXT not json');
    const e = expectReason(() => decryptOpenData(f.sessionKey, f.encryptedData, f.iv), 'decrypt_failed');
    const everything = `${e.message} ${String(e)} ${e.stack} ${JSON.stringify(e)}`;
    expect(everything).not.toContain('SECRET');
    expect(everything).not.toContain(f.sessionKey);
    expect(everything).not.toContain(f.encryptedData);
    expect(e.cause).toBeUndefined();
  });

  it('keeps "__proto__" as plain data (no prototype change)', () => {
    const f = seal('{"__proto__":{"polluted":true},"a":1}');
    const out = decryptOpenData(f.sessionKey, f.encryptedData, f.iv);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('verifyRawDataSignature', () => {
  const sessionKey = 'HyVFkGl5F5OQWJZZaNzBBg==';
  const rawData = '{"nickName":"Band"}';
  // Computed independently: python3 hashlib.sha1((rawData + sessionKey).encode()).hexdigest()
  const good = '19036804514e3177482cf7382c6a337cf79b246d';
  const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

  it('accepts the known vector', () => {
    expect(verifyRawDataSignature(rawData, sessionKey, good)).toBe(true);
  });

  it('accepts UTF-8 rawData', () => {
    const raw = '{"nickName":"微信用户 🐼"}';
    expect(verifyRawDataSignature(raw, sessionKey, sha1(raw + sessionKey))).toBe(true);
  });

  it.each<[string, string, string, string]>([
    ['one hex digit changed', rawData, sessionKey, good.slice(0, -1) + (good.endsWith('d') ? 'e' : 'd')],
    ['rawData changed', rawData.replace('Band', 'Bond'), sessionKey, good],
    ['another session_key (rotated)', rawData, 'AAAAAAAAAAAAAAAAAAAAAA==', good],
    ['the order swapped (sha1(key + rawData))', rawData, sessionKey, sha1(sessionKey + rawData)],
    ['sha1 of rawData alone', rawData, sessionKey, sha1(rawData)],
    ['39 characters', rawData, sessionKey, good.slice(0, 39)],
    ['41 characters', rawData, sessionKey, good + '0'],
    ['80 characters', rawData, sessionKey, good + good],
    ['empty', rawData, sessionKey, ''],
    [
      'uppercase hex (WeChat sends lowercase; one spelling accepted)',
      rawData,
      sessionKey,
      good.toUpperCase(),
    ],
    ['non-hex characters', rawData, sessionKey, 'g'.repeat(40)],
    ['surrounding whitespace', rawData, sessionKey, ` ${good}`.slice(0, 40)],
    ['base64 of the digest', rawData, sessionKey, Buffer.from(good, 'hex').toString('base64')],
    ['an empty session_key, even with a matching sha1', rawData, '', sha1(rawData)],
  ])('refuses %s (false, no throw)', (_label, raw, key, sig) => {
    expect(verifyRawDataSignature(raw, key, sig)).toBe(false);
  });

  it.each<[string, unknown, unknown, unknown]>([
    ['signature undefined', rawData, sessionKey, undefined],
    ['signature a number', rawData, sessionKey, 123],
    ['rawData undefined', undefined, sessionKey, good],
    ['sessionKey null', rawData, null, good],
  ])('returns false for untyped %s', (_label, raw, key, sig) => {
    expect(verifyRawDataSignature(raw as string, key as string, sig as string)).toBe(false);
  });
});

describe('checkWatermark', () => {
  const MAX_AGE = 300;
  const withWatermark = (watermark: unknown) => ({ nickName: 'x', watermark });
  const wm = (timestamp: unknown, appid: unknown = APPID) => withWatermark({ appid, timestamp });

  it.each<[string, number]>([
    ['now', NOW_S],
    ['exactly maxAgeSeconds old', NOW_S - MAX_AGE],
    ['one second old', NOW_S - 1],
    ['exactly the allowed skew in the future', NOW_S + WATERMARK_MAX_FUTURE_SKEW_SECONDS],
  ])('accepts a watermark dated %s', (_label, timestamp) => {
    expect(() => checkWatermark(wm(timestamp), APPID, NOW_MS, MAX_AGE)).not.toThrow();
  });

  it('allows 60 s of future skew', () => {
    expect(WATERMARK_MAX_FUTURE_SKEW_SECONDS).toBe(60);
  });

  it.each<[string, Record<string, unknown>, OpenDataErrorReason]>([
    ['a foreign appid', wm(NOW_S, 'wxffffffffffffffff'), 'watermark_appid'],
    ['an appid differing in case', wm(NOW_S, APPID.toUpperCase()), 'watermark_appid'],
    ['an appid with trailing space', wm(NOW_S, `${APPID} `), 'watermark_appid'],
    ['a foreign appid that is also stale (appid reported first)', wm(1, 'wxother'), 'watermark_appid'],
    ['one second too old', wm(NOW_S - MAX_AGE - 1, APPID), 'watermark_stale'],
    ['a day old', wm(NOW_S - 86_400, APPID), 'watermark_stale'],
    ['61 s in the future', wm(NOW_S + WATERMARK_MAX_FUTURE_SKEW_SECONDS + 1, APPID), 'watermark_stale'],
    ['a timestamp in milliseconds (reads as far future)', wm(NOW_MS, APPID), 'watermark_stale'],
    ['no watermark', { nickName: 'x' }, 'watermark_missing'],
    ['a null watermark', withWatermark(null), 'watermark_missing'],
    ['a string watermark', withWatermark('wx1234567890abcdef'), 'watermark_missing'],
    ['an array watermark', withWatermark([APPID, NOW_S]), 'watermark_missing'],
    ['no appid', withWatermark({ timestamp: NOW_S }), 'watermark_missing'],
    ['a numeric appid', wm(NOW_S, 1234), 'watermark_missing'],
    ['an empty appid', wm(NOW_S, ''), 'watermark_missing'],
    ['no timestamp', withWatermark({ appid: APPID }), 'watermark_missing'],
    ['a string timestamp', wm(String(NOW_S)), 'watermark_missing'],
    ['a fractional timestamp', wm(NOW_S + 0.5), 'watermark_missing'],
    ['a NaN timestamp', wm(Number.NaN), 'watermark_missing'],
    ['an infinite timestamp', wm(Number.POSITIVE_INFINITY), 'watermark_missing'],
    ['a zero timestamp', wm(0), 'watermark_missing'],
    ['a negative timestamp', wm(-1), 'watermark_missing'],
    ['a null timestamp', wm(null), 'watermark_missing'],
  ])('refuses %s', (_label, data, reason) => {
    expectReason(() => checkWatermark(data, APPID, NOW_MS, MAX_AGE), reason);
  });

  it.each<[string, () => void]>([
    ['an empty expected appid', () => checkWatermark(wm(NOW_S, ''), '', NOW_MS, MAX_AGE)],
    ['a NaN clock', () => checkWatermark(wm(NOW_S), APPID, Number.NaN, MAX_AGE)],
    ['a NaN max age', () => checkWatermark(wm(NOW_S), APPID, NOW_MS, Number.NaN)],
    ['a negative max age', () => checkWatermark(wm(NOW_S), APPID, NOW_MS, -1)],
  ])('throws RangeError for %s (a bug of ours, never fail open)', (_label, fn) => {
    expect(fn).toThrow(RangeError);
  });

  it('works end to end on decrypted data', () => {
    const f = seal(JSON.stringify(payload()));
    const data = decryptOpenData(f.sessionKey, f.encryptedData, f.iv);
    expect(() => checkWatermark(data, APPID, NOW_MS + 10_000, MAX_AGE)).not.toThrow();
    expectReason(() => checkWatermark(data, 'wxother', NOW_MS, MAX_AGE), 'watermark_appid');
  });
});

describe('splitWatermark', () => {
  it('returns the payload without the watermark, and the watermark, without mutating its input', () => {
    const input = payload();
    const out = splitWatermark(input);
    expect(out.watermark).toEqual({ appid: APPID, timestamp: NOW_S });
    expect(out.data).toEqual({ nickName: '微信用户 🐼', gender: 1 });
    expect(input.watermark).toBeDefined();
  });

  it('drops extra watermark fields', () => {
    const out = splitWatermark({ watermark: { appid: APPID, timestamp: NOW_S, extra: 1 } });
    expect(out.watermark).toEqual({ appid: APPID, timestamp: NOW_S });
  });

  it('refuses a missing watermark', () => {
    expectReason(() => splitWatermark({ a: 1 }), 'watermark_missing');
  });
});

describe('checkSessionSignature', () => {
  const sessionKey = 'HyVFkGl5F5OQWJZZaNzBBg==';

  it('matches a vector computed independently (python3 hmac over b"" keyed with the key string)', () => {
    expect(checkSessionSignature(sessionKey)).toBe(
      '252b75c92698025afe925b29cca5517fdf9ee67aae072cf3225ebf3a53783058',
    );
  });

  it.each(Array.from({ length: 20 }, () => randomBytes(16).toString('base64')))(
    'is hex HMAC-SHA256("") keyed with the UTF-8 of the string %s',
    (key) => {
      const expected = createHmac('sha256', Buffer.from(key, 'utf8')).update('').digest('hex');
      expect(checkSessionSignature(key)).toBe(expected);
      expect(checkSessionSignature(key)).toMatch(/^[0-9a-f]{64}$/);
    },
  );

  it('differs from the HMAC keyed with the decoded 16 bytes (the mistake that gets 87009)', () => {
    const decoded = createHmac('sha256', Buffer.from(sessionKey, 'base64')).update('').digest('hex');
    expect(decoded).toBe('8fd4206c12c486127b9ec91323df64c24ef0ab34c72413e6bbb0cc5019b243d9'); // python3, independently
    expect(checkSessionSignature(sessionKey)).not.toBe(decoded);
  });

  it('differs from an HMAC over anything but the empty string', () => {
    const overKey = createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update(sessionKey).digest('hex');
    expect(checkSessionSignature(sessionKey)).not.toBe(overKey);
  });

  it('refuses an empty session_key', () => {
    expect(() => checkSessionSignature('')).toThrow(RangeError);
  });
});
