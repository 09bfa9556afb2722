/**
 * WeChat "legacy open data" crypto: the encryptedData / iv / rawData / signature a mini program gets from
 * `wx.getUserInfo`, `getPhoneNumber` (old style), `wx.getWeRunData`, … and the `/wxa/checksession` signature.
 *
 * Pure functions over node:crypto — no Nest, no I/O, no clock (the caller passes `nowMs`), so every rule here is
 * table-tested. Every failure a client can cause is an `OpenDataError` whose message names the field, never its value:
 * the messages are safe to return to the client and to log.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type OpenDataErrorReason =
  | 'invalid_base64'
  | 'decrypt_failed'
  | 'signature_mismatch'
  | 'watermark_missing'
  | 'watermark_appid'
  | 'watermark_stale';

const MESSAGES: Record<OpenDataErrorReason, (field: string) => string> = {
  invalid_base64: (f) => `${f} is not valid base64 (standard alphabet, padded) of the expected length`,
  // Almost always a session_key rotated by a wx.login that ran after the data was encrypted: log in again.
  decrypt_failed: () => 'the data could not be decrypted with the current session; log in again and retry',
  signature_mismatch: () => 'rawData does not match its signature',
  watermark_missing: () => 'the decrypted data has no valid watermark',
  watermark_appid: () => 'the decrypted data belongs to another mini program',
  watermark_stale: () => 'the decrypted data is too old (or dated in the future)',
};

export class OpenDataError extends Error {
  override readonly name = 'OpenDataError';

  /** `field` is a field NAME (`'iv'`, `'encryptedData'`, …), never a value. */
  constructor(
    readonly reason: OpenDataErrorReason,
    readonly field?: string,
  ) {
    super(MESSAGES[reason](field ?? 'value'));
  }
}

/** session_key and iv are base64 of 16 bytes: AES-128 key and CBC block size. */
export const AES_BLOCK_BYTES = 16;

/**
 * Cheap refusal of absurd input before any regex or allocation. 128 Ki characters ≈ 96 KiB decoded: above the 64 KiB
 * the caller allows for encryptedData (and far above the DTO's 16 384 characters), so it only stops abuse.
 */
export const MAX_BASE64_CHARS = 128 * 1024;

/** How far in the future a watermark may be dated (clock skew between WeChat and us). */
export const WATERMARK_MAX_FUTURE_SKEW_SECONDS = 60;

/** Standard alphabet only, `=` only at the end, at most two of them. Length % 4 is checked separately. */
const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SHA1_HEX_LOWER = /^[0-9a-f]{40}$/;

/**
 * Strict base64 decoding for the fields WeChat hands a mini program.
 *
 * - Spaces are turned back into `+`, and nothing else is repaired. That repair is unambiguous: a space is never a
 *   base64 character, and the one way it appears in these fields is a `+` read as a space by
 *   application/x-www-form-urlencoded / query-string decoding — the most common real-world failure. A space that was
 *   NOT a `+` (a stray one) leaves the length or the padding wrong and is still refused.
 * - The URL-safe alphabet (`-`, `_`) is refused: WeChat always emits the standard alphabet, so `-`/`_` means some
 *   layer re-encoded the value; accepting two alphabets would give the same bytes several spellings.
 * - Padding must be present and correct (length a multiple of 4 after the repair), and the unused trailing bits must
 *   be zero (the canonical encoding every real encoder produces) — so each byte string has exactly one accepted
 *   spelling, and a truncated or altered value fails here rather than deeper down.
 * - Empty input, other characters (tabs, newlines, `%2B`, …) and, when `expectedBytes` is given, a different decoded
 *   length all throw `OpenDataError('invalid_base64', field)`.
 */
export function decodeWechatBase64(field: string, value: string, expectedBytes?: number): Buffer {
  const fail = (): never => {
    throw new OpenDataError('invalid_base64', field);
  };
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_BASE64_CHARS) fail();
  // Exact length known: refuse before the regex and the allocation.
  if (expectedBytes !== undefined && value.length !== 4 * Math.ceil(expectedBytes / 3)) fail();

  const repaired = value.replaceAll(' ', '+');
  if (repaired.length % 4 !== 0 || !STRICT_BASE64.test(repaired)) fail();

  const bytes = Buffer.from(repaired, 'base64');
  // Re-encoding catches non-zero trailing bits (e.g. `QR==` for the byte `QQ==` encodes).
  if (bytes.toString('base64') !== repaired) fail();
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) fail();
  return bytes;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decrypts WeChat open data: AES-128-CBC, PKCS#7, key = base64-decode(session_key), iv = base64-decode(iv).
 *
 * - `encryptedData` / `iv` that are not strict base64, an iv that is not 16 bytes and a ciphertext that is empty or not
 *   a whole number of blocks are transport damage on the client's side: `OpenDataError('invalid_base64', field)`.
 * - Everything past those shape checks — bad padding, invalid UTF-8, not JSON, JSON that is not an object — is
 *   `OpenDataError('decrypt_failed')` and nothing else. A wrong key (the usual cause: a rotated session_key) passes the
 *   PKCS#7 check by chance about 1 time in 256; the UTF-8 and JSON checks then catch it.
 * - A malformed session_key is also `decrypt_failed` (field `session_key`): it is our stored state, the client cannot
 *   fix it, and the remedy is the same as for a rotated key — `wx.login` again.
 *
 * No underlying error is kept as `cause`: V8's JSON.parse message quotes the input, i.e. the plaintext.
 */
export function decryptOpenData(
  sessionKey: string,
  encryptedData: string,
  iv: string,
): Record<string, unknown> {
  const ivBytes = decodeWechatBase64('iv', iv, AES_BLOCK_BYTES);
  const ciphertext = decodeWechatBase64('encryptedData', encryptedData);
  if (ciphertext.length % AES_BLOCK_BYTES !== 0) throw new OpenDataError('invalid_base64', 'encryptedData');

  let key: Buffer;
  try {
    key = decodeWechatBase64('session_key', sessionKey, AES_BLOCK_BYTES);
  } catch {
    throw new OpenDataError('decrypt_failed', 'session_key');
  }

  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ivBytes); // PKCS#7 check on (node's default)
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    const parsed: unknown = JSON.parse(UTF8.decode(plaintext));
    if (!isPlainObject(parsed)) throw new Error('not an object');
    return parsed;
  } catch {
    throw new OpenDataError('decrypt_failed');
  } finally {
    key.fill(0);
    plaintext?.fill(0);
  }
}

/**
 * `signature == sha1(rawData + session_key)` in lowercase hex (what WeChat sends), compared in constant time.
 *
 * Never throws: a signature that is not exactly 40 lowercase hex characters (uppercase included — the DTO refuses it
 * too, so one spelling is accepted end to end) is simply false. An empty session_key is always false: it would make
 * the signature a plain sha1 of rawData that anyone can compute.
 */
export function verifyRawDataSignature(rawData: string, sessionKey: string, signature: string): boolean {
  if (typeof rawData !== 'string' || typeof sessionKey !== 'string' || sessionKey.length === 0) return false;
  if (typeof signature !== 'string' || !SHA1_HEX_LOWER.test(signature)) return false;
  const expected = createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')); // both 20 bytes
}

/**
 * The decrypted payload must carry `watermark: { appid, timestamp }` for this mini program, dated (in seconds) no
 * more than `maxAgeSeconds` ago and no more than `WATERMARK_MAX_FUTURE_SKEW_SECONDS` ahead of `nowMs`.
 *
 * - not an object, `appid` not a non-empty string, `timestamp` not a positive integer number → `watermark_missing`
 *   (a numeric string is ill-typed, not coerced);
 * - another app's data (replayed from a different mini program sharing the user) → `watermark_appid`;
 * - too old or too far in the future → `watermark_stale`.
 *
 * Bad arguments from our own code (NaN clock, negative max age, empty expected appid) throw a RangeError rather than
 * letting a NaN comparison quietly accept every watermark.
 */
export function checkWatermark(
  data: Record<string, unknown>,
  expectedAppid: string,
  nowMs: number,
  maxAgeSeconds: number,
): void {
  if (typeof expectedAppid !== 'string' || expectedAppid.length === 0) {
    throw new RangeError('checkWatermark: expectedAppid must be a non-empty string');
  }
  if (!Number.isFinite(nowMs) || !Number.isFinite(maxAgeSeconds) || maxAgeSeconds < 0) {
    throw new RangeError('checkWatermark: nowMs and maxAgeSeconds must be finite, maxAgeSeconds ≥ 0');
  }
  const watermark = readWatermark(data);
  if (watermark.appid !== expectedAppid) throw new OpenDataError('watermark_appid');
  const ageMs = nowMs - watermark.timestamp * 1000;
  if (ageMs > maxAgeSeconds * 1000 || -ageMs > WATERMARK_MAX_FUTURE_SKEW_SECONDS * 1000) {
    throw new OpenDataError('watermark_stale');
  }
}

export interface OpenDataWatermark {
  appid: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/**
 * Separates the watermark from the payload (for the response: `{ data, watermark }`). Throws `watermark_missing` like
 * `checkWatermark`; call that first to check appid and age.
 */
export function splitWatermark(data: Record<string, unknown>): {
  data: Record<string, unknown>;
  watermark: OpenDataWatermark;
} {
  const watermark = readWatermark(data);
  const rest = { ...data };
  delete rest.watermark;
  return { data: rest, watermark };
}

/**
 * The `signature` for `GET /wxa/checksession`: hex HMAC-SHA256 over the EMPTY string, keyed with the session_key
 * STRING as given — the UTF-8 bytes of its base64 characters, not the 16 bytes they decode to ("hmac_sha256(session_key,
 * "")" in WeChat's docs). Anything else gets 87009 from WeChat, indistinguishable from a rotated key.
 */
export function checkSessionSignature(sessionKey: string): string {
  if (typeof sessionKey !== 'string' || sessionKey.length === 0) {
    throw new RangeError('checkSessionSignature: session_key must be a non-empty string');
  }
  return createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update('').digest('hex');
}

function readWatermark(data: Record<string, unknown>): OpenDataWatermark {
  const watermark: unknown = isPlainObject(data) ? data.watermark : undefined;
  if (!isPlainObject(watermark)) throw new OpenDataError('watermark_missing');
  const { appid, timestamp } = watermark;
  if (typeof appid !== 'string' || appid.length === 0) throw new OpenDataError('watermark_missing');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new OpenDataError('watermark_missing');
  }
  return { appid, timestamp };
}

/** JSON.parse only builds plain objects, arrays and primitives: "plain object" = non-null, non-array object. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
