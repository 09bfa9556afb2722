import { createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, type JwtAlgorithm, type JwtKeyConfig } from '../../config/app-config';

/** A published public key (RFC 7517), never with private members. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: JwtAlgorithm;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** Exact signature sizes: anything else is refused before the crypto runs. */
const SIGNATURE_BYTES: Partial<Record<JwtAlgorithm, number>> = { HS256: 32, ES256: 64, EdDSA: 64 };

/**
 * Owns the access-token keys and their rotation (the configuration lists them, the signing key
 * first): which key signs, which key a token's `kid` names, the one algorithm each key is used with,
 * and the public keys published as the JWKS. Keys never come from a token: a `kid` only selects one
 * of ours, exactly by its string (a Map, so `__proto__` or `../x` name nothing).
 *
 * A token without `kid` is what versions before key rotation issued (HS256 under JWT_SECRET): it
 * verifies with JWT_SECRET only, and only while JWT_SECRET is set.
 */
@Injectable()
export class JwtKeyManager {
  private readonly byKid: ReadonlyMap<string, JwtKeyConfig>;
  private readonly jwks: readonly PublicJwk[];
  readonly signing: JwtKeyConfig;
  private readonly legacy?: JwtKeyConfig;

  constructor(config: AppConfig) {
    const keys = config.jwt.keys;
    if (keys.length === 0) throw new Error('no JWT signing key configured');
    this.signing = keys[0];
    this.byKid = new Map(keys.map((k) => [k.kid, k]));
    this.legacy = keys.find((k) => k.source === 'secret');
    this.jwks = keys.filter((k) => k.alg !== 'HS256').map(publicJwk);
  }

  /** The key a token header names; undefined when it names none of ours. */
  keyFor(kid: unknown): JwtKeyConfig | undefined {
    if (kid === undefined) return this.legacy;
    return typeof kid === 'string' ? this.byKid.get(kid) : undefined;
  }

  /** `GET /.well-known/jwks.json`: public keys only (HS256 secrets are never published). */
  publicKeys(): readonly PublicJwk[] {
    return this.jwks;
  }

  /** Every algorithm some configured key verifies. */
  algorithms(): JwtAlgorithm[] {
    return [...new Set([...this.byKid.values()].map((k) => k.alg))];
  }
}

/** JWS signature (RFC 7515/7518) over `input` with a key of ours. */
export function signJws(key: JwtKeyConfig, input: string): Buffer {
  const data = Buffer.from(input, 'ascii');
  switch (key.alg) {
    case 'HS256':
      return createHmac('sha256', key.signingKey).update(data).digest();
    case 'ES256':
      // JWS wants r||s (IEEE P1363), not DER.
      return sign('sha256', data, { key: key.signingKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', data, key.signingKey);
    case 'EdDSA':
      return sign(null, data, key.signingKey);
  }
}

/** Whether `signature` is a valid JWS signature of `input` under `key` (with the key's own algorithm). */
export function verifyJws(key: JwtKeyConfig, input: string, signature: Buffer): boolean {
  const expected = SIGNATURE_BYTES[key.alg];
  if (expected !== undefined && signature.length !== expected) return false;
  const data = Buffer.from(input, 'ascii');
  const k: KeyObject = key.verificationKey;
  try {
    switch (key.alg) {
      case 'HS256':
        return timingSafeEqual(createHmac('sha256', k).update(data).digest(), signature);
      case 'ES256':
        return verify('sha256', data, { key: k, dsaEncoding: 'ieee-p1363' }, signature);
      case 'RS256':
        return (
          signature.length === (k.asymmetricKeyDetails?.modulusLength ?? 0) / 8 &&
          verify('sha256', data, k, signature)
        );
      case 'EdDSA':
        return verify(null, data, k, signature);
    }
  } catch {
    return false;
  }
}

function publicJwk(key: JwtKeyConfig): PublicJwk {
  const jwk = key.verificationKey.export({ format: 'jwk' });
  const pick = (name: 'crv' | 'x' | 'y' | 'n' | 'e') =>
    jwk[name] === undefined ? {} : { [name]: jwk[name] };
  return {
    kty: String(jwk.kty),
    kid: key.kid,
    alg: key.alg,
    use: 'sig',
    ...pick('crv'),
    ...pick('x'),
    ...pick('y'),
    ...pick('n'),
    ...pick('e'),
  };
}
