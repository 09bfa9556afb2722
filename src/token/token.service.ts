import type { RequestContext } from '../common/request-context';
import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, In, IsNull, MoreThan, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { SecretBox } from '../common/crypto/secret-box';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { KvStore } from '../common/store/kv-store';
import { AppConfig } from '../config/app-config';
import { isDeadlock } from '../database/db-errors';
import { TransactionRunner } from '../database/transaction-runner';
import { assertMayAct } from '../users/user-access';
import { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import { RefreshToken } from './refresh-token.entity';
import { RevocationService } from './revocation.service';
import type { TokenPair } from './token-pair';

/** 32 random bytes as base64url. */
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * How long a request that presents a just-rotated token waits for the rotation winner's answer to
 * appear in the store. The winner writes it right after its commit (milliseconds), so this only
 * bounds the wait when the winner died in between.
 */
export const SUCCESSOR_WAIT_MS = 2000;
const SUCCESSOR_POLL_MS = 20;

/**
 * `revoked_at` is a DATETIME without fractions on MariaDB (truncated or rounded to the second), and
 * two instances' clocks differ a little: the rotation time read back may be off by up to this much.
 */
const ROTATION_TIME_SLACK_MS = 1000;

/** Tries of a write transaction that keeps being picked as a deadlock victim (then 503 DATABASE_UNAVAILABLE). */
const DEADLOCK_ATTEMPTS = 4;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Store key of the encrypted successor pair, by the SHA-256 of the token that was rotated. */
export function successorKey(presentedHash: string): string {
  return `refresh:successor:${presentedHash}`;
}

/** AAD of that record: a ciphertext copied under another token's key fails to open. */
function successorAad(presentedHash: string): string {
  return `refresh-successor:v1:${presentedHash}`;
}

interface SuccessorRecord {
  /** Row id of the successor refresh token, to check that its family is still alive. */
  successorId: string;
  pair: TokenPair;
}

const invalid = () => new AppException('REFRESH_TOKEN_INVALID');

/**
 * Issues token pairs and rotates refresh tokens. A refresh token is usable
 * once: using it revokes it and links it to its successor (`replacedBy`).
 *
 * Presenting a rotated token again:
 * - within `sessions.refreshReuseIntervalSeconds` of its rotation answers with the very pair the
 *   rotation produced (mini programs fire parallel requests at start-up, each refreshing with the
 *   same token; without this the loser of the race counted as a thief and the user was logged out).
 *   That pair is kept only encrypted in the store, under the presented token's hash, for the
 *   interval; it is answered only while its refresh token is still the family's live one, so a
 *   family ended meanwhile (logout, eviction, a disabled user) is not brought back by the cache;
 * - after the interval is reuse: the token leaked or the client is confused, and the whole family,
 *   newest token included, is revoked (`REFRESH_TOKEN_REUSED`).
 *
 * A token revoked without a successor (logout, session revoked, eviction, disabled user) is simply
 * `REFRESH_TOKEN_INVALID`: a refresh racing a logout is not theft.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);

  constructor(
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly access: AccessTokenService,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly store: KvStore,
    private readonly box: SecretBox,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
  ) {}

  /**
   * A new login session (refresh family) for the user.
   *
   * With `sessions.maxPerUser` (MAX_SESSIONS_PER_USER, 0 = unlimited) set, a login that takes the
   * user past it evicts the user's oldest live sessions — oldest by when the family was created
   * (its first login), not by its last refresh, ties broken by id — until the limit holds again;
   * the new session is never the one evicted. Counted after the new family is
   * committed, so of parallel logins the last to count sees every other one and the limit holds
   * once they have all answered.
   */
  async issue(
    user: { id: string; roles: string[] },
    appid: string,
    context?: RequestContext,
  ): Promise<TokenPair> {
    const familyId = this.random.uuid();
    const refresh = this.newRefreshToken(user.id, appid, familyId);
    await this.write((em) => em.insert(RefreshToken, refresh.row), 'single');
    await this.evictBeyondLimit(user.id, familyId, context);
    // The epoch first, then the user's current state (a revocation in between cannot slip through),
    // then the token.
    const epoch = await this.revocations.epochFor(user.id);
    const current = await this.users.findById(user.id);
    assertMayAct(current);
    return this.pair(current, appid, familyId, refresh.token, epoch);
  }

  /** `context` (here and below): the request's id and client IP, for the audit trail. */
  async refresh(presented: string, context?: RequestContext): Promise<TokenPair> {
    if (!REFRESH_TOKEN_FORMAT.test(presented)) throw invalid();
    const hash = hashRefreshToken(presented);
    const row = await this.refreshTokens.findOne({ where: { tokenHash: hash } });
    if (!row) throw invalid();
    if (row.revokedAt) return this.presentedAgain(row, hash, context);
    if (row.expiresAt.getTime() <= this.clock.now()) throw invalid();

    // Read before the user: a role change or a disable racing this refresh either shows in the user we
    // read, or leaves this token under the old epoch, which the revocation refuses.
    const epoch = await this.revocations.epochFor(row.userId);
    const user = await this.activeUser(row);
    const next = this.newRefreshToken(row.userId, row.appid, row.familyId);
    // Two single statements, no transaction: the successor first, then the conditional update that
    // rotates. Of concurrent refreshes with one token (or a refresh and a logout) exactly one update wins;
    // a loser removes its successor. A failure in between leaves at worst a successor row whose token
    // nobody holds (listSessions shows one row per family), never a rotated token without its successor.
    await this.write((em) => em.insert(RefreshToken, next.row), 'single');
    const res = await this.write(
      (em) =>
        em.update(
          RefreshToken,
          { id: row.id, revokedAt: IsNull() },
          { revokedAt: this.clock.date(), replacedBy: next.row.id },
        ),
      'single',
    );
    const rotated = res.affected === 1;
    if (!rotated) await this.write((em) => em.delete(RefreshToken, { id: next.row.id }), 'single');
    if (!rotated) {
      // Changed between our read and our update: another request rotated it (wait for its answer)
      // or a logout revoked it. Read what happened; committed by now, since our update waited for it.
      const now = await this.refreshTokens.findOne({ where: { tokenHash: hash } });
      if (!now?.revokedAt) throw invalid();
      return this.presentedAgain(now, hash, context);
    }

    const pair = await this.pair(user, row.appid, row.familyId, next.token, epoch);
    await this.rememberSuccessor(hash, { successorId: next.row.id, pair });
    await this.audit.record({
      type: 'token.refreshed',
      userId: row.userId,
      appid: row.appid,
      sessionId: row.familyId,
      context,
    });
    return pair;
  }

  /** Revokes one family (by a presented refresh token, or the caller's own session) or all of the user's. */
  async logout(
    principal: { userId: string; sessionId: string },
    opts: { refreshToken?: string; all?: boolean },
    context?: RequestContext,
  ): Promise<void> {
    if (opts.all) {
      await this.revokeAllSessions(principal.userId);
      // Their access tokens too, on every instance (RevocationService).
      await this.revocations.revokeUser(principal.userId);
      await this.audit.record({
        type: 'sessions.logged_out_all',
        userId: principal.userId,
        details: { initiator: 'self' },
        context,
      });
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
    await this.revokeFamilies([familyId], principal.userId);
    await this.revocations.revokeSession(familyId);
    await this.audit.record({
      type: 'session.logged_out',
      userId: principal.userId,
      sessionId: familyId,
      context,
    });
  }

  /** Every live session of the user (disable, admin action). Rows stay, revoked, for the reuse rules. */
  async revokeAllSessions(userId: string): Promise<void> {
    await this.write(
      (em) => em.update(RefreshToken, { userId, revokedAt: IsNull() }, { revokedAt: this.clock.date() }),
      'single',
    );
  }

  /**
   * Account deletion: the user's refresh-token rows are removed, not only revoked (they name the
   * user and the app). A rotated-pair record still in the store cannot answer for them: its
   * successor row is gone, so `replay` finds nothing.
   */
  async deleteAllSessions(userId: string): Promise<void> {
    await this.write((em) => em.delete(RefreshToken, { userId }), 'single');
  }

  /** The user's live sessions: one current refresh token per family. */
  async listSessions(userId: string): Promise<RefreshToken[]> {
    const rows = await this.refreshTokens.find({
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
      order: { createdAt: 'DESC' },
    });
    // The newest live row of each family (a rotation cut off between its two statements may leave a
    // second one, whose token nobody holds).
    const seen = new Set<string>();
    return rows.filter((r) => !seen.has(r.familyId) && seen.add(r.familyId));
  }

  /** Object-level ownership: a session that is not the caller's is "not found", never "forbidden". */
  async getSession(userId: string, familyId: string): Promise<RefreshToken> {
    const row = await this.refreshTokens.findOne({
      where: { userId, familyId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
    if (!row) throw new AppException('NOT_FOUND');
    return row;
  }

  /** Whether the session (refresh family) still has a live refresh token: not logged out, revoked or expired. */
  async isSessionLive(userId: string, familyId: string): Promise<boolean> {
    return this.refreshTokens.exists({
      where: { userId, familyId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
  }

  async revokeSession(userId: string, familyId: string): Promise<void> {
    await this.getSession(userId, familyId);
    await this.revokeFamilies([familyId], userId);
    await this.revocations.revokeSession(familyId);
  }

  /**
   * A token that is already revoked, presented again (or the loser of a rotation race, once it
   * knows it lost). Decides between "the same answer again", "invalid" and "reuse".
   */
  private async presentedAgain(
    row: RefreshToken,
    hash: string,
    context: RequestContext | undefined,
  ): Promise<TokenPair> {
    // Revoked without a successor: logout, a revoked session, eviction, a disabled user. Not theft.
    if (!row.replacedBy || !row.revokedAt) throw invalid();
    const intervalMs = this.config.sessions.refreshReuseIntervalSeconds * 1000;
    if (intervalMs <= 0) return this.reuseDetected(row.familyId, row, context);

    const rotatedAt = row.revokedAt.getTime();
    // Until the rotation is older than the interval (give or take the timestamp's precision), its
    // answer may be in the store — or about to be: the winner writes it just after committing.
    const lastChance = rotatedAt + intervalMs + ROTATION_TIME_SLACK_MS;
    if (this.clock.now() >= lastChance) return this.reuseDetected(row.familyId, row, context);
    const record = await this.awaitSuccessor(
      hash,
      Math.min(this.clock.now() + SUCCESSOR_WAIT_MS, lastChance),
    );
    if (!record) {
      if (this.clock.now() - rotatedAt >= intervalMs) return this.reuseDetected(row.familyId, row, context);
      // Within the interval but the winner's answer was never kept (it died before writing it, or
      // the store failed): it cannot be repeated. Not evidence of theft, so nothing is revoked.
      throw invalid();
    }
    return this.replay(row, record);
  }

  /** The rotation's own answer, if its family is still alive and its user still may log in. */
  private async replay(row: RefreshToken, record: SuccessorRecord): Promise<TokenPair> {
    const successor = await this.refreshTokens.findOne({ where: { id: record.successorId } });
    if (!successor || successor.familyId !== row.familyId || row.replacedBy !== successor.id) throw invalid();
    // Revoked without successor: the family ended meanwhile (logout…) and must stay ended.
    // Rotated: the client already moved on to a newer token; this copy is stale. Inside the
    // interval that is a straggler of the same burst, not proof of theft, so nothing is revoked.
    if (successor.revokedAt || successor.expiresAt.getTime() <= this.clock.now()) throw invalid();
    await this.activeUser(successor);
    return record.pair;
  }

  /** Polls the store (via the Clock, so unit tests run in fake time) until `deadline`. */
  private async awaitSuccessor(hash: string, deadline: number): Promise<SuccessorRecord | null> {
    for (;;) {
      const sealed = await this.store.get(successorKey(hash));
      if (sealed !== null) return this.openSuccessor(hash, sealed);
      const left = deadline - this.clock.now();
      if (left <= 0) return null;
      await this.clock.sleep(Math.min(SUCCESSOR_POLL_MS, left));
    }
  }

  private async rememberSuccessor(hash: string, record: SuccessorRecord): Promise<void> {
    const intervalMs = this.config.sessions.refreshReuseIntervalSeconds * 1000;
    if (intervalMs <= 0) return;
    try {
      await this.store.set(
        successorKey(hash),
        this.box.seal(JSON.stringify(record), successorAad(hash)),
        intervalMs,
      );
    } catch (err) {
      // The rotation is committed: failing this answer would lose the new token and log the user
      // out. Concurrent requests with the old token then get REFRESH_TOKEN_INVALID instead.
      this.logger.warn(
        { err: (err as Error).message },
        'could not keep the rotated pair for the reuse interval',
      );
    }
  }

  private openSuccessor(hash: string, sealed: string): SuccessorRecord | null {
    try {
      const record = JSON.parse(this.box.open(sealed, successorAad(hash))) as SuccessorRecord;
      if (typeof record?.successorId !== 'string' || typeof record.pair?.refreshToken !== 'string')
        return null;
      return record;
    } catch {
      // Tampered, or sealed under a key that has since been rotated: as if absent.
      this.logger.warn('unreadable rotated-pair record ignored');
      return null;
    }
  }

  /** The row's user, if still allowed to hold a session; a disabled user's family is ended. */
  private async activeUser(row: RefreshToken): Promise<{ id: string; roles: string[] }> {
    const user = await this.users.findById(row.userId);
    if (!user) throw invalid();
    if (user.status !== 'active') {
      await this.revokeFamilies([row.familyId]);
      await this.revocations.revokeSession(row.familyId);
      throw new AppException('USER_DISABLED');
    }
    return user;
  }

  private async reuseDetected(
    familyId: string,
    row?: RefreshToken,
    context?: RequestContext,
  ): Promise<never> {
    await this.revokeFamilies([familyId]);
    // The thief may hold the family's current access token too.
    await this.revocations.revokeSession(familyId);
    await this.audit.record({
      type: 'token.reuse_detected',
      userId: row?.userId ?? null,
      appid: row?.appid ?? null,
      sessionId: familyId,
      reason: 'REFRESH_TOKEN_REUSED',
      context,
    });
    throw new AppException('REFRESH_TOKEN_REUSED');
  }

  private async revokeFamilies(familyIds: string[], userId?: string): Promise<void> {
    if (familyIds.length === 0) return;
    await this.write(
      (em) =>
        em.update(
          RefreshToken,
          { familyId: In(familyIds), revokedAt: IsNull(), ...(userId ? { userId } : {}) },
          { revokedAt: this.clock.date() },
        ),
      'single',
    );
  }

  /** See `issue`: revokes the user's oldest live families beyond `sessions.maxPerUser`, never `keep`. */
  private async evictBeyondLimit(userId: string, keep: string, context?: RequestContext): Promise<void> {
    const max = this.config.sessions.maxPerUser;
    if (max <= 0) return;
    const live = await this.refreshTokens.find({
      select: { familyId: true },
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
    const familyIds = [...new Set(live.map((r) => r.familyId))];
    if (familyIds.length <= max) return;
    // A family's creation is its first token's; the live token's created_at is only the last refresh.
    const firsts: { familyId: string; firstAt: string | Date }[] = await this.refreshTokens
      .createQueryBuilder('t')
      .select('t.family_id', 'familyId')
      .addSelect('MIN(t.created_at)', 'firstAt')
      .where('t.family_id IN (:...familyIds)', { familyIds })
      .groupBy('t.family_id')
      .getRawMany();
    // Drivers differ (a Date from mysql2, text from SQLite), but each parses consistently.
    const oldestFirst = firsts
      .map((f) => ({ familyId: f.familyId, at: new Date(f.firstAt).getTime() }))
      .sort((a, b) => a.at - b.at || a.familyId.localeCompare(b.familyId));
    // The new session is kept explicitly: MariaDB's DATETIME has whole seconds, so logins of one
    // second tie and the tie-break alone could pick the session just handed out.
    const evicted = oldestFirst
      .filter((f) => f.familyId !== keep)
      .slice(0, oldestFirst.length - max)
      .map((f) => f.familyId);
    await this.revokeFamilies(evicted, userId);
    for (const familyId of evicted) {
      await this.revocations.revokeSession(familyId);
      await this.audit.record({
        type: 'session.evicted',
        userId,
        sessionId: familyId,
        details: { initiator: 'system' },
        context,
      });
    }
    this.logger.log(
      { userId, evicted: evicted.length, max },
      'oldest sessions evicted (MAX_SESSIONS_PER_USER)',
    );
  }

  /**
   * A write transaction, retried when InnoDB picks it as a deadlock victim. Rotation (a row lock,
   * then an insert into the family's and user's index ranges) and revocation (a range update over
   * those indexes) take their locks in opposite orders, so a refresh racing a logout can deadlock;
   * the victim's retry waits for the other and then sees its result (a rotation finds its token
   * revoked, a revocation finds the successor and revokes it too). One retry was not enough: with
   * four parallel refreshes of a session racing DELETE /sessions/:id on MariaDB, the revocation lost
   * twice in a row now and then (503, and the session survived). A short jittered pause keeps two
   * victims from colliding again in lockstep.
   */
  /** A transaction, or (`single`) one statement without BEGIN/COMMIT; retried after an InnoDB deadlock. */
  private async write<T>(work: (em: EntityManager) => Promise<T>, mode: 'tx' | 'single' = 'tx'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (mode === 'single' ? this.tx.single(work) : this.tx.run(work));
      } catch (e) {
        if (!isDeadlock(e) || attempt >= DEADLOCK_ATTEMPTS) throw e;
        await this.clock.sleep(Math.round(attempt * (5 + 20 * this.random.fraction())));
      }
    }
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
