import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { JwtHeader } from 'jsonwebtoken';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Clock } from '../common/clock/clock';
import { BoundedMap } from '../common/collections/bounded-map';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { AppConfig } from '../config/app-config';
import { JwtKeyManager, signJws, verifyJws } from './keys/jwt-key-manager';

export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * How far in the future `iat` may be: instances' clocks differ by a few seconds, never by this
 * much. A token "issued" later than that was not minted by us at that time (a leaked key minting
 * tokens ahead of time, or a broken clock) and is refused. `nbf` gets no leeway (we never set it).
 */
export const IAT_LEEWAY_SECONDS = 30;

/**
 * The only JOSE header members our tokens carry. Anything else is refused before it can mean
 * something: `jku`/`x5u` (fetch a key from a URL), `jwk`/`x5c` (a key inside the token), `crit`
 * (extensions we would have to understand, RFC 7515 §4.1.11). `kid` must name one of our keys,
 * exactly (JwtKeyManager); nothing is ever fetched or looked up elsewhere on a token's say-so.
 */
const ALLOWED_HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);

/**
 * Verified tokens kept, by their text: a client sends the same access token for its whole life, so
 * most requests skip the signature check (ES256 verify costs tens of µs). ~1 KB each.
 */
export const VERIFIED_CACHE_SIZE = 10_000;

/** Far above any token of ours (~600 bytes); a bigger one is refused before it is decoded. */
const MAX_TOKEN_LENGTH = 8 * 1024;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

interface AccessClaims {
  sub?: unknown;
  appid?: unknown;
  roles?: unknown;
  sid?: unknown;
  exp?: unknown;
  nbf?: unknown;
  iat?: unknown;
  iss?: unknown;
  aud?: unknown;
  jti?: unknown;
  uv?: unknown;
}

/** What a verified token says, for introspection (RFC 7662) beyond the AuthPrincipal. */
export interface VerifiedAccessToken {
  principal: AuthPrincipal;
  jti: string;
  kid?: string;
}

export function invalidToken(): AppException {
  return new AppException('UNAUTHORIZED', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}

/** base64url JSON object, or undefined. */
function decodeObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * Signs access JWTs (@nestjs/jwt for HS256/ES256/RS256, node:crypto for EdDSA) and verifies them with
 * node:crypto alone (no JOSE library re-decoding the token or merging options per call). The key, and with it the one algorithm allowed, is chosen by the header's `kid` among ours
 * (JwtKeyManager); issuer, audience, `typ`, the header's members and the time claims are checked
 * here. Time comes from the injected Clock so expiry, `nbf` and `iat` are testable without sleeping.
 */
@Injectable()
export class AccessTokenService {
  private readonly verified = new BoundedMap<string, VerifiedAccessToken>(VERIFIED_CACHE_SIZE);

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: JwtKeyManager,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /** `issuedAt` (seconds) defaults to now; RevocationService.issuedAtFor may ask for the next second. */
  sign(p: {
    userId: string;
    appid: string;
    roles: string[];
    sessionId: string;
    issuedAt?: number;
    /** The user's revocation epoch when the token was issued (RevocationService.epochFor). */
    userEpoch?: number;
  }): Promise<string> {
    const key = this.keys.signing;
    const iat = p.issuedAt ?? this.clock.nowSeconds();
    const { issuer, audience, accessTtlSeconds } = this.config.jwt;
    const header = { alg: key.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid };
    const payload = {
      appid: p.appid,
      roles: p.roles,
      sid: p.sessionId,
      iat,
      exp: iat + accessTtlSeconds,
      aud: audience,
      iss: issuer,
      sub: p.userId,
      jti: this.random.uuid(),
      ...(p.userEpoch ? { uv: p.userEpoch } : {}),
    };
    if (key.alg !== 'EdDSA') {
      // @nestjs/jwt (jsonwebtoken) signs HS256/ES256/RS256 with the KeyObject; it knows no EdDSA.
      return this.jwt.signAsync(payload, {
        algorithm: key.alg,
        header: header as JwtHeader,
        secret: key.signingKey as unknown as string,
      });
    }
    const input = `${b64json(header)}.${b64json(payload)}`;
    return Promise.resolve(`${input}.${signJws(key, input).toString('base64url')}`);
  }

  async verify(token: string): Promise<AuthPrincipal> {
    return (await this.verifyToken(token)).principal;
  }

  /**
   * The whole check; throws `invalidToken()` for anything that is not a live token of ours. A token
   * verified before is found by its exact text (so its signature was checked) and only its expiry is
   * checked again: everything else in it is fixed. Revocation is not cached here; the guard asks
   * RevocationService on every request.
   */
  verifyToken(token: string): Promise<VerifiedAccessToken> {
    const cached = this.verified.get(token);
    if (cached) {
      if (this.clock.nowSeconds() < cached.principal.expiresAt) return Promise.resolve(cached);
      this.verified.delete(token);
      return Promise.reject(invalidToken());
    }
    const verified = this.check(token);
    if (!verified) return Promise.reject(invalidToken());
    // Oldest first out (BoundedMap); only verified tokens ever get in.
    this.verified.set(token, verified);
    return Promise.resolve(verified);
  }

  private check(token: string): VerifiedAccessToken | undefined {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) return undefined;
    const [h, p, s] = parts;
    const header = decodeObject(h);
    if (!header || Object.keys(header).some((k) => !ALLOWED_HEADER_MEMBERS.has(k))) return undefined;
    if (header.typ !== ACCESS_TOKEN_TYP) return undefined;
    const key = this.keys.keyFor(header.kid);
    // The key decides the algorithm; a header naming another (none, HS256 against a public key…) is refused.
    if (!key || header.alg !== key.alg) return undefined;
    // node:crypto with the key's own algorithm (the header was only read to pick the key).
    if (!verifyJws(key, `${h}.${p}`, Buffer.from(s, 'base64url'))) return undefined;

    const c: AccessClaims | undefined = decodeObject(p);
    if (!c) return undefined;
    const now = this.clock.nowSeconds();
    const { issuer, audience } = this.config.jwt;
    if (
      c.iss !== issuer ||
      !(c.aud === audience || (Array.isArray(c.aud) && c.aud.includes(audience))) ||
      typeof c.exp !== 'number' ||
      now >= c.exp ||
      // nbf in the future is refused (no leeway: we never set it).
      (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf > now)) ||
      typeof c.iat !== 'number' ||
      c.iat > now + IAT_LEEWAY_SECONDS ||
      // We never issue longer-lived tokens: one that claims more was minted with a leaked key.
      c.exp - c.iat > this.config.jwt.accessTtlSeconds ||
      typeof c.sub !== 'string' ||
      typeof c.appid !== 'string' ||
      typeof c.sid !== 'string' ||
      typeof c.jti !== 'string' ||
      !Array.isArray(c.roles) ||
      !c.roles.every((r) => typeof r === 'string') ||
      (c.uv !== undefined && (typeof c.uv !== 'number' || !Number.isSafeInteger(c.uv) || c.uv < 0))
    ) {
      return undefined;
    }
    // Frozen: one cached result is shared by every request that presents the token.
    return Object.freeze({
      principal: Object.freeze({
        userId: c.sub,
        appid: c.appid,
        roles: Object.freeze([...(c.roles as string[])]) as string[],
        sessionId: c.sid,
        expiresAt: c.exp,
        issuedAt: c.iat,
        userEpoch: typeof c.uv === 'number' ? c.uv : 0,
      }),
      jti: c.jti,
      kid: typeof header.kid === 'string' ? header.kid : undefined,
    });
  }
}
