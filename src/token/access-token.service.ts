import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { AppConfig } from '../config/app-config';

export const ACCESS_TOKEN_TYP = 'at+jwt';

interface AccessClaims {
  sub?: unknown;
  appid?: unknown;
  roles?: unknown;
  sid?: unknown;
  exp?: unknown;
  jti?: unknown;
}

export function invalidToken(): AppException {
  return new AppException('UNAUTHORIZED', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}

/**
 * Signs and verifies access JWTs. Algorithm, issuer, audience and the key
 * (a KeyObject) are fixed on the JwtModule; `typ` is checked here. Time comes
 * from the injected Clock so expiry is testable without sleeping.
 */
@Injectable()
export class AccessTokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  sign(p: { userId: string; appid: string; roles: string[]; sessionId: string }): Promise<string> {
    return this.jwt.signAsync(
      { appid: p.appid, roles: p.roles, sid: p.sessionId, iat: this.clock.nowSeconds() },
      { subject: p.userId, jwtid: this.random.uuid(), expiresIn: this.config.jwt.accessTtlSeconds },
    );
  }

  async verify(token: string): Promise<AuthPrincipal> {
    let decoded: { header: { typ?: unknown }; payload: AccessClaims };
    try {
      decoded = await this.jwt.verifyAsync(token, {
        complete: true,
        clockTimestamp: this.clock.nowSeconds(),
      });
    } catch {
      throw invalidToken();
    }
    const { header, payload: c } = decoded;
    if (
      header.typ !== ACCESS_TOKEN_TYP ||
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
    return { userId: c.sub, appid: c.appid, roles: c.roles as string[], sessionId: c.sid, expiresAt: c.exp };
  }
}
