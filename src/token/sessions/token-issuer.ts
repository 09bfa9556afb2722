import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import { AppConfig } from '../../config/app-config';
import { AccessTokenService } from '../access-token.service';
import type { RefreshToken } from '../refresh-token.entity';
import type { TokenPair } from '../token-pair';

/** 32 random bytes as base64url. */
export const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The one answer for a refresh token that cannot be used: unknown, expired, revoked, its user gone. */
export const refreshTokenInvalid = (): AppException => new AppException('REFRESH_TOKEN_INVALID');

/**
 * The thin issue path: a new refresh token (its row holds only the SHA-256) and the signed pair. No I/O
 * of its own beyond signing; the callers decide when a pair may be handed out.
 */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly access: AccessTokenService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  newRefreshToken(userId: string, appid: string, familyId: string): { token: string; row: RefreshToken } {
    const token = this.random.bytes(32).toString('base64url');
    const now = this.clock.now();
    const row: RefreshToken = {
      id: this.random.uuid(),
      familyId,
      userId,
      appid,
      tokenHash: hashRefreshToken(token),
      expiresAt: new Date(now + this.config.jwt.refreshTtlSeconds * 1000),
      revokedAt: null,
      replacedBy: null,
      createdAt: new Date(now),
    };
    return { token, row };
  }

  /** `userEpoch`: read (RevocationService.epochFor) BEFORE the user whose roles go into the token. */
  async pair(
    user: { id: string; roles: string[] },
    appid: string,
    familyId: string,
    refreshToken: string,
    userEpoch: number,
  ): Promise<TokenPair> {
    return {
      accessToken: await this.access.sign({
        userId: user.id,
        appid,
        roles: user.roles,
        sessionId: familyId,
        userEpoch,
      }),
      tokenType: 'Bearer',
      expiresIn: this.config.jwt.accessTtlSeconds,
      refreshToken,
      refreshExpiresIn: this.config.jwt.refreshTtlSeconds,
    };
  }
}
