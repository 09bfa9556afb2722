import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { jwkThumbprint, parsePrivateKeys, secretKey } from './jwt-keys';

const pkcs8 = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');

describe('parsePrivateKeys (JWT_PRIVATE_KEYS)', () => {
  it('reads EC P-256 → ES256, RSA 2048 → RS256, Ed25519 → EdDSA, in order (the first signs)', () => {
    const { keys, problems } = parsePrivateKeys(
      pkcs8(ec.privateKey) + pkcs8(rsa.privateKey) + pkcs8(ed.privateKey),
    );
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.alg, k.source])).toEqual([
      ['ES256', 'private-key'],
      ['RS256', 'private-key'],
      ['EdDSA', 'private-key'],
    ]);
    // The public half verifies; it is what the JWKS publishes.
    expect(keys.map((k) => k.verificationKey.type)).toEqual(['public', 'public', 'public']);
  });

  it('takes `\\n` escapes (one-line environment values), SEC1 and PKCS#1 PEMs, and skips EC PARAMETERS', () => {
    const sec1 = ec.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const { keys, problems } = parsePrivateKeys(`${params}${sec1}\n${pkcs1}`.replace(/\n/g, '\\n'));
    expect(problems).toEqual([]);
    expect(keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
  });

  it('kid is the RFC 7638 thumbprint (checked against jose)', async () => {
    for (const pair of [ec, rsa, ed]) {
      const jwk = pair.publicKey.export({ format: 'jwk' });
      expect(jwkThumbprint(pair.publicKey)).toBe(await calculateJwkThumbprint(jwk as never));
      expect(parsePrivateKeys(pkcs8(pair.privateKey)).keys[0].kid).toBe(jwkThumbprint(pair.publicKey));
    }
  });

  it.each([
    [
      'an RSA key under 2048 bits',
      () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey),
      /1024-bit RSA key/,
    ],
    [
      'an EC key on P-384',
      () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
      /only P-256/,
    ],
    ['an Ed448 key', () => pkcs8(generateKeyPairSync('ed448').privateKey), /ed448 key/],
    [
      'an RSA-PSS key',
      () => pkcs8(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey),
      /rsa-pss key/,
    ],
    [
      'a public key',
      () => ec.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      /"PUBLIC KEY" block/,
    ],
    [
      'an encrypted private key',
      () =>
        ec.privateKey
          .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' })
          .toString(),
      /"ENCRYPTED PRIVATE KEY" block/,
    ],
    [
      'a truncated key',
      () => pkcs8(ec.privateKey).replace(/\n[^\n]+\n-----END/, '\n-----END'),
      /not a readable/,
    ],
    ['text besides the keys', () => `${pkcs8(ec.privateKey)}\nhello`, /outside PEM blocks/],
    ['no key at all', () => 'just text', /outside PEM blocks/],
    ['the same key twice', () => pkcs8(ec.privateKey) + pkcs8(ec.privateKey), /same key twice/],
  ])('refuses %s, naming the rule and never the key', (_name, value, reason) => {
    const text = value();
    const { problems } = parsePrivateKeys(text);
    expect(problems.join('\n')).toMatch(reason);
    const body = text.split('\n').find((l) => l.length > 40) ?? '';
    for (const p of problems) expect(p).not.toContain(body.slice(0, 40) || '\u0000');
  });
});

describe('secretKey (JWT_SECRET, JWT_PREVIOUS_SECRETS)', () => {
  it('derives a stable kid that differs per secret and contains nothing of it', () => {
    const a = secretKey('a-secret-of-at-least-32-bytes-0123456789', 'secret');
    expect(secretKey('a-secret-of-at-least-32-bytes-0123456789', 'previous-secret').kid).toBe(a.kid);
    expect(secretKey('another-secret-of-32-bytes-0123456789abc', 'secret').kid).not.toBe(a.kid);
    expect(a.kid).toMatch(/^hs256-[A-Za-z0-9_-]{22}$/);
    expect(a.kid).not.toContain(Buffer.from('a-secret').toString('base64url').slice(0, 8));
  });
});
