import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { AppConfig } from '../config/app-config';

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
 * (extensions we would have to understand, RFC 7515 §4.1.11), and `kid` — no key of ours has one
 * yet, so every kid is unknown (once keys carry kids, accept exactly the known ones here).
 */
const ALLOWED_HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ']);

interface AccessClaims {
  sub?: unknown;
  appid?: unknown;
  roles?: unknown;
  sid?: unknown;
  exp?: unknown;
  iat?: unknown;
  jti?: unknown;
}

export function invalidToken(): AppException {
  return new AppException('UNAUTHORIZED', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}

/**
 * Signs and verifies access JWTs. Algorithm (HS256 only), issuer, audience and
 * the key (a KeyObject) are fixed on the JwtModule; `typ`, the header's members
 * and `iat` are checked here. Time comes from the injected Clock so expiry,
 * `nbf` and `iat` are testable without sleeping.
 */
@Injectable()
export class AccessTokenService {
  constructor(
    private readonly jwt: JwtService,
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
  }): Promise<string> {
    return this.jwt.signAsync(
      { appid: p.appid, roles: p.roles, sid: p.sessionId, iat: p.issuedAt ?? this.clock.nowSeconds() },
      { subject: p.userId, jwtid: this.random.uuid(), expiresIn: this.config.jwt.accessTtlSeconds },
    );
  }

  async verify(token: string): Promise<AuthPrincipal> {
    let decoded: { header: Record<string, unknown>; payload: AccessClaims };
    try {
      decoded = await this.jwt.verifyAsync(token, {
        complete: true,
        // exp and nbf are checked against this (no clockTolerance: nbf in the future is refused).
        clockTimestamp: this.clock.nowSeconds(),
      });
    } catch {
      throw invalidToken();
    }
    const { header, payload: c } = decoded;
    const now = this.clock.nowSeconds();
    if (
      header.typ !== ACCESS_TOKEN_TYP ||
      Object.keys(header).some((k) => !ALLOWED_HEADER_MEMBERS.has(k)) ||
      typeof c.iat !== 'number' ||
      c.iat > now + IAT_LEEWAY_SECONDS ||
      typeof c.sub !== 'string' ||
      typeof c.appid !== 'string' ||
      typeof c.sid !== 'string' ||
      typeof c.exp !== 'number' ||
      typeof c.jti !== 'string' ||
      !Array.isArray(c.roles) ||
      !c.roles.every((r) => typeof r === 'string')
    ) {
      throw invalidToken();
    }
    return {
      userId: c.sub,
      appid: c.appid,
      roles: c.roles as string[],
      sessionId: c.sid,
      expiresAt: c.exp,
      issuedAt: c.iat,
    };
  }
}
