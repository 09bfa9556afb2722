import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { JwtAlgorithm, JwtKeyConfig } from './app-config';

/** RFC 7518 §3.3: RSA keys for RS256 must be at least this large. */
export const MIN_RSA_BITS = 2048;
/** More than this many keys is a configuration mistake (a rotation needs two, three at most). */
export const MAX_PRIVATE_KEYS = 10;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;
const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);

/**
 * JWT_PRIVATE_KEYS: one or more PEM private keys in one value (literal newlines or `\n` escapes, as
 * environment files and secret managers give them). Returns the keys in order (the first signs) or the
 * problems, which name a key by its position and never contain key material.
 */
export function parsePrivateKeys(value: string): { keys: JwtKeyConfig[]; problems: string[] } {
  const text = value.replace(/\\r/g, '').replace(/\\n/g, '\n');
  const keys: JwtKeyConfig[] = [];
  const problems: string[] = [];
  let rest = text;
  let index = 0;
  for (const m of text.matchAll(PEM_BLOCK)) {
    rest = rest.replace(m[0], '');
    // `openssl ecparam -genkey` prints the curve's parameters before the key: they carry nothing secret.
    if (m[1] === 'EC PARAMETERS') continue;
    index++;
    const where = `JWT_PRIVATE_KEYS key #${index}`;
    if (!PRIVATE_KEY_LABELS.has(m[1])) {
      problems.push(
        `${where} is a "${m[1]}" block: only unencrypted private keys (BEGIN PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)`,
      );
      continue;
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: m[0], format: 'pem' });
    } catch {
      problems.push(`${where} is not a readable unencrypted PEM private key`);
      continue;
    }
    const described = describePrivateKey(key);
    if ('problem' in described) problems.push(`${where} ${described.problem}`);
    else keys.push(asymmetricKey(key, described.alg));
  }
  if (rest.trim() !== '') problems.push('JWT_PRIVATE_KEYS contains text outside PEM blocks');
  if (index === 0 && problems.length === 0) problems.push('JWT_PRIVATE_KEYS contains no PEM private key');
  if (index > MAX_PRIVATE_KEYS) problems.push(`JWT_PRIVATE_KEYS holds more than ${MAX_PRIVATE_KEYS} keys`);
  const kids = keys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length) problems.push('JWT_PRIVATE_KEYS lists the same key twice');
  return { keys, problems };
}

/** Which algorithm a private key signs with, or why it cannot be one of ours. */
export function describePrivateKey(key: KeyObject): { alg: JwtAlgorithm } | { problem: string } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return details.namedCurve === 'prime256v1'
        ? { alg: 'ES256' }
        : { problem: `is an EC key on ${details.namedCurve ?? 'an unknown curve'}: only P-256 (ES256)` };
    case 'rsa':
      return (details.modulusLength ?? 0) >= MIN_RSA_BITS
        ? { alg: 'RS256' }
        : {
            problem: `is a ${details.modulusLength ?? '?'}-bit RSA key: RS256 needs at least ${MIN_RSA_BITS} bits`,
          };
    case 'ed25519':
      return { alg: 'EdDSA' };
    default:
      return {
        problem: `is a ${key.asymmetricKeyType ?? 'unknown'} key: use EC P-256 (ES256), RSA ≥ 2048 (RS256) or Ed25519 (EdDSA)`,
      };
  }
}

/** A private key as a signing key of ours: its public half verifies and is published; kid = RFC 7638 thumbprint. */
export function asymmetricKey(privateKey: KeyObject, alg: JwtAlgorithm): JwtKeyConfig {
  const publicKey = createPublicKey(privateKey);
  return {
    kid: jwkThumbprint(publicKey),
    alg,
    signingKey: privateKey,
    verificationKey: publicKey,
    source: 'private-key',
  };
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: the required members only, in
 * lexicographic order, no whitespace.
 */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members: Record<string, string[]> = {
    EC: ['crv', 'kty', 'x', 'y'],
    RSA: ['e', 'kty', 'n'],
    OKP: ['crv', 'kty', 'x'],
  };
  const required = members[jwk.kty ?? ''];
  if (!required) throw new Error(`no RFC 7638 thumbprint for key type ${jwk.kty}`);
  const canonical = `{${required.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * An HS256 secret as a key of ours. Its kid is an HMAC of a fixed label under the secret itself: it
 * tells secrets apart without revealing anything about them (a PRF output; checking a guessed secret
 * against it is no easier than against any token's signature).
 */
export function secretKey(secret: string, source: 'secret' | 'previous-secret'): JwtKeyConfig {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const kid = `hs256-${createHmac('sha256', key).update('wechat-auth/jwt-kid/v1').digest().subarray(0, 16).toString('base64url')}`;
  return { kid, alg: 'HS256', signingKey: key, verificationKey: key, source };
}

/** A fresh ES256 key (PKCS#8 PEM): the development default. */
export function generateEs256Pem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
