import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { AppConfig } from '../config/app-config';
import { TransactionRunner } from '../database/transaction-runner';
import { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import { RefreshToken } from './refresh-token.entity';
import type { TokenPair } from './token-pair';

/** 32 random bytes as base64url. */
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

class RotationRaceLost extends Error {}

/**
 * Issues token pairs and rotates refresh tokens. A refresh token is usable
 * once: using it revokes it and links it to its successor. Presenting one that
 * was already rotated means it leaked (or the client is confused) and revokes
 * the whole family, including the newest token.
 */
@Injectable()
export class TokenService {
  constructor(
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly access: AccessTokenService,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /** A new login session (refresh family) for the user. */
  async issue(user: { id: string; roles: string[] }, appid: string): Promise<TokenPair> {
    const familyId = this.random.uuid();
    const refresh = this.newRefreshToken(user.id, appid, familyId);
    await this.tx.run((em) => em.insert(RefreshToken, refresh.row));
    return this.pair(user, appid, familyId, refresh.token);
  }

  async refresh(presented: string): Promise<TokenPair> {
    if (!REFRESH_TOKEN_FORMAT.test(presented)) throw new AppException('REFRESH_TOKEN_INVALID');
    const row = await this.refreshTokens.findOne({ where: { tokenHash: hashRefreshToken(presented) } });
    if (!row) throw new AppException('REFRESH_TOKEN_INVALID');
    if (row.revokedAt) {
      if (row.replacedBy) await this.reuseDetected(row.familyId);
      throw new AppException('REFRESH_TOKEN_INVALID');
    }
    if (row.expiresAt.getTime() <= this.clock.now()) throw new AppException('REFRESH_TOKEN_INVALID');

    const user = await this.users.findById(row.userId);
    if (!user) throw new AppException('REFRESH_TOKEN_INVALID');
    if (user.status !== 'active') {
      await this.revokeFamily(row.familyId);
      throw new AppException('USER_DISABLED');
    }

    const next = this.newRefreshToken(row.userId, row.appid, row.familyId);
    try {
      await this.tx.run(async (em) => {
        // Conditional update: of two concurrent refreshes with one token, exactly one wins.
        const res = await em.update(
          RefreshToken,
          { id: row.id, revokedAt: IsNull() },
          { revokedAt: this.clock.date(), replacedBy: next.row.id },
        );
        if (res.affected !== 1) throw new RotationRaceLost();
        await em.insert(RefreshToken, next.row);
      });
    } catch (e) {
      if (e instanceof RotationRaceLost) await this.reuseDetected(row.familyId);
      throw e;
    }
    return this.pair(user, row.appid, row.familyId, next.token);
  }

  /** Revokes one family (by a presented refresh token, or the caller's own session) or all of the user's. */
  async logout(
    principal: { userId: string; sessionId: string },
    opts: { refreshToken?: string; all?: boolean },
  ): Promise<void> {
    if (opts.all) {
      await this.tx.run((em) =>
        em.update(
          RefreshToken,
          { userId: principal.userId, revokedAt: IsNull() },
          { revokedAt: this.clock.date() },
        ),
      );
      return;
    }
    let familyId = principal.sessionId;
    if (opts.refreshToken) {
      const row = await this.refreshTokens.findOne({
        where: { tokenHash: hashRefreshToken(opts.refreshToken) },
      });
      // Someone else's token is not ours to revoke; logout stays idempotent and reveals nothing.
      if (!row || row.userId !== principal.userId) return;
      familyId = row.familyId;
    }
    await this.revokeFamily(familyId, principal.userId);
  }

  /** The user's live sessions: one current refresh token per family. */
  listSessions(userId: string): Promise<RefreshToken[]> {
    return this.refreshTokens.find({
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
      order: { createdAt: 'DESC' },
    });
  }

  /** Object-level ownership: a session that is not the caller's is "not found", never "forbidden". */
  async getSession(userId: string, familyId: string): Promise<RefreshToken> {
    const row = await this.refreshTokens.findOne({
      where: { userId, familyId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
    if (!row) throw new AppException('NOT_FOUND');
    return row;
  }

  async revokeSession(userId: string, familyId: string): Promise<void> {
    await this.getSession(userId, familyId);
    await this.revokeFamily(familyId, userId);
  }

  private async reuseDetected(familyId: string): Promise<never> {
    await this.revokeFamily(familyId);
    throw new AppException('REFRESH_TOKEN_REUSED');
  }

  private async revokeFamily(familyId: string, userId?: string): Promise<void> {
    await this.tx.run((em) =>
      em.update(
        RefreshToken,
        { familyId, revokedAt: IsNull(), ...(userId ? { userId } : {}) },
        { revokedAt: this.clock.date() },
      ),
    );
  }

  private newRefreshToken(
    userId: string,
    appid: string,
    familyId: string,
  ): { token: string; row: RefreshToken } {
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

  private async pair(
    user: { id: string; roles: string[] },
    appid: string,
    familyId: string,
    refreshToken: string,
  ): Promise<TokenPair> {
    return {
      accessToken: await this.access.sign({ userId: user.id, appid, roles: user.roles, sessionId: familyId }),
      tokenType: 'Bearer',
      expiresIn: this.config.jwt.accessTtlSeconds,
      refreshToken,
      refreshExpiresIn: this.config.jwt.refreshTtlSeconds,
    };
  }
}
