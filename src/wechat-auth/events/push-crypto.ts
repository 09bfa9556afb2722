import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/**
 * WeChat's message-push signatures and safe-mode encryption, as its documentation describes them
 * ("消息推送" and "消息加解密说明", JSON format):
 *
 * - `signature` = sha1 of the Token, `timestamp` and `nonce` sorted as strings and joined (the URL check
 *   and every plain push); `msg_signature` = the same over the four values Token, `timestamp`, `nonce` and
 *   the body's `Encrypt` (safe mode).
 * - `Encrypt` = base64(AES-256-CBC(random(16) + msg_len(4, big-endian) + msg + appid)), key =
 *   base64_decode(EncodingAESKey + '='), iv = the key's first 16 bytes, PKCS#7 padded to 32-byte blocks
 *   (not AES's 16, which is why Node's own padding is switched off on both sides).
 *
 * Pure functions: no logging (the Token, key and plaintext must never reach a log line), no clock.
 */

/** WeChat pads to the key length (32), not to the AES block (16). */
const PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

export function pushSignature(...parts: string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex');
}

/** Constant-time comparison of a presented hex signature with the expected one. */
export function signatureMatches(presented: string | undefined, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(presented.toLowerCase()), Buffer.from(expected));
}

/** Why a ciphertext was refused; never the plaintext. */
export class PushDecryptError extends Error {
  constructor(reason: string) {
    super(`push decryption failed: ${reason}`);
    this.name = 'PushDecryptError';
  }
}

export interface DecryptedPush {
  /** The message: the JSON text of the event. */
  message: string;
  /** The appid WeChat appended after the message (checked against ours by the caller). */
  appid: string;
}

export function decryptPush(aesKey: Buffer, encrypted: string): DecryptedPush {
  if (aesKey.length !== 32) throw new PushDecryptError('key is not 32 bytes');
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new PushDecryptError('not whole AES blocks');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', aesKey, aesKey.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new PushDecryptError('cipher');
  }
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > PAD_BLOCK || pad > plain.length) throw new PushDecryptError('padding');
  for (let i = plain.length - pad; i < plain.length; i++)
    if (plain[i] !== pad) throw new PushDecryptError('padding');
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < RANDOM_BYTES + LENGTH_BYTES) throw new PushDecryptError('too short');
  const length = content.readUInt32BE(RANDOM_BYTES);
  const start = RANDOM_BYTES + LENGTH_BYTES;
  if (start + length > content.length) throw new PushDecryptError('length');
  return {
    message: content.subarray(start, start + length).toString('utf8'),
    appid: content.subarray(start + length).toString('utf8'),
  };
}

/** What WeChat does before a safe-mode push (the sandbox and the tests play WeChat with it). */
export function encryptPush(aesKey: Buffer, message: string, appid: string, random: Buffer): string {
  if (random.length !== RANDOM_BYTES) throw new Error('random must be 16 bytes');
  const msg = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(msg.length);
  const body = Buffer.concat([random, length, msg, Buffer.from(appid, 'utf8')]);
  const pad = PAD_BLOCK - (body.length % PAD_BLOCK);
  const padded = Buffer.concat([body, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-cbc', aesKey, aesKey.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

/** The AES key an EncodingAESKey stands for. */
export function aesKeyOf(encodingAesKey: string): Buffer {
  return Buffer.from(`${encodingAesKey}=`, 'base64');
}
