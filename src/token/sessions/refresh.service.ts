import { Injectable, Logger, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import type { RequestContext } from '../../common/request-context';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig } from '../../config/app-config';
import { TransactionRunner } from '../../database/transaction-runner';
import { Metrics, NO_METRICS, type RefreshOutcome } from '../../metrics/metrics';
import type { User } from '../../users/user.entity';
import { UsersService } from '../../users/users.service';
import { RefreshToken } from '../refresh-token.entity';
import { RevocationService } from '../revocation/revocation.service';
import type { TokenPair } from '../token-pair';
import { SessionService } from './session.service';
import { hashRefreshToken, REFRESH_TOKEN_FORMAT, refreshTokenInvalid, TokenIssuer } from './token-issuer';

/**
 * How long a request that presents a just-rotated token waits for the rotation winner's answer to appear in
 * the store. The winner writes it right after its commit (milliseconds), so this only bounds the wait when
 * the winner died in between.
 */
export const SUCCESSOR_WAIT_MS = 2000;
const SUCCESSOR_POLL_MS = 20;

/**
 * `revoked_at` is a DATETIME without fractions on MariaDB (truncated or rounded to the second), and two
 * instances' clocks differ a little: the rotation time read back may be off by up to this much.
 */
const ROTATION_TIME_SLACK_MS = 1000;

/** Store key of the encrypted successor pair, by the SHA-256 of the token that was rotated. */
export const successorKey = StoreKeys.refreshSuccessor;

/** AAD of that record: a ciphertext copied under another token's key fails to open. */
function successorAad(presentedHash: string): string {
  return `refresh-successor:v1:${presentedHash}`;
}

interface SuccessorRecord {
  /** Row id of the successor refresh token, to check that its family is still alive. */
  successorId: string;
  pair: TokenPair;
}

/**
 * Refresh-token rotation. A refresh token is usable once: using it revokes it and links it to its successor
 * (`replacedBy`).
 *
 * Presenting a rotated token again:
 * - within `sessions.refreshReuseIntervalSeconds` of its rotation answers with the very pair the rotation
 *   produced (mini programs fire parallel requests at start-up, each refreshing with the same token; without
 *   this the loser of the race counted as a thief and the user was logged out). That pair is kept only
 *   encrypted in the store, under the presented token's hash, for the interval; it is answered only while
 *   its refresh token is still the family's live one, so a family ended meanwhile (logout, eviction, a
 *   disabled user) is not brought back by the cache;
 * - after the interval is reuse: the token leaked or the client is confused, and the whole family, newest
 *   token included, is ended (`REFRESH_TOKEN_REUSED`).
 *
 * A token revoked without a successor (logout, session revoked, eviction, disabled user) is simply
 * `REFRESH_TOKEN_INVALID`: a refresh racing a logout is not theft.
 */
@Injectable()
export class RefreshService {
  private readonly logger = new Logger(RefreshService.name);

  constructor(
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly issuer: TokenIssuer,
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly store: KvStore,
    private readonly box: SecretBox,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {}

  /** `context`: the request's id and client IP, for the audit trail. */
  async refresh(presented: string, context?: RequestContext): Promise<TokenPair> {
    try {
      return await this.rotateOrReplay(presented, context);
    } catch (e) {
      this.metrics.refresh(refreshFailure(e));
      throw e;
    }
  }

  private async rotateOrReplay(
    presented: string,
    context: RequestContext | undefined,
    attempt = 1,
  ): Promise<TokenPair> {
    if (!REFRESH_TOKEN_FORMAT.test(presented)) throw refreshTokenInvalid();
    const hash = hashRefreshToken(presented);
    const rows = this.sessions.rows;
    // The row and its user in one read. The user is read BEFORE the epoch here, so the rotation below is
    // conditional on the user being unchanged (active, the same roles): a role change or a disable that
    // commits between this read and the rotation makes the rotation match nothing, and the refresh starts
    // over; one that commits after the rotation publishes its revocation after the epoch was read, which
    // then refuses this token (SessionService.end changes the database before it publishes).
    const found = await rows.byHashWithUser(hash);
    if (!found) throw refreshTokenInvalid();
    const row = found.token;
    if (row.revokedAt) return this.presentedAgain(row, hash, context);
    if (row.expiresAt.getTime() <= this.clock.now()) throw refreshTokenInvalid();
    const user = await this.mayAct(row, found.user, context);
    const epoch = await this.revocations.epochFor(row.userId);
    const next = this.issuer.newRefreshToken(row.userId, row.appid, row.familyId);
    // Two single statements, no transaction: the successor first, then the conditional update that rotates.
    // Of concurrent refreshes with one token (or a refresh and a logout) exactly one update wins; a loser
    // removes its successor. A failure in between leaves at worst a successor row whose token nobody holds
    // (the session list shows one row per family), never a rotated token without its successor.
    await this.tx.retrying((em) => rows.insert(em, next.row), 'single');
    const rotated = await this.tx.retrying(
      (em) => rows.rotateForUser(em, row.id, this.clock.date(), next.row.id, user.id, found.storedRoles),
      'single',
    );
    if (!rotated) {
      await this.tx.retrying((em) => rows.remove(em, next.row.id), 'single');
      // Changed between our read and our update: another request rotated it (wait for its answer), a
      // logout revoked it — or the user changed (roles, status): then the row is still live, and the
      // refresh starts over once with what is current. Committed by now, since our update waited for it.
      const now = await rows.byHash(hash);
      if (now && !now.revokedAt && attempt === 1) return this.rotateOrReplay(presented, context, 2);
      if (!now?.revokedAt) throw refreshTokenInvalid();
      return this.presentedAgain(now, hash, context);
    }

    const pair = await this.issuer.pair(user, row.appid, row.familyId, next.token, epoch);
    await this.rememberSuccessor(hash, { successorId: next.row.id, pair });
    await this.audit.record({
      type: 'token.refreshed',
      userId: row.userId,
      appid: row.appid,
      sessionId: row.familyId,
      context,
    });
    this.metrics.refresh('rotated');
    return pair;
  }

  /**
   * A token that is already revoked, presented again (or the loser of a rotation race, once it knows it
   * lost). Decides between "the same answer again", "invalid" and "reuse".
   */
  private async presentedAgain(
    row: RefreshToken,
    hash: string,
    context: RequestContext | undefined,
  ): Promise<TokenPair> {
    // Revoked without a successor: logout, a revoked session, eviction, a disabled user. Not theft.
    if (!row.replacedBy || !row.revokedAt) throw refreshTokenInvalid();
    const intervalMs = this.config.sessions.refreshReuseIntervalSeconds * 1000;
    if (intervalMs <= 0) return this.reuseDetected(row, context);

    const rotatedAt = row.revokedAt.getTime();
    // Until the rotation is older than the interval (give or take the timestamp's precision), its answer may
    // be in the store — or about to be: the winner writes it just after committing.
    const lastChance = rotatedAt + intervalMs + ROTATION_TIME_SLACK_MS;
    if (this.clock.now() >= lastChance) return this.reuseDetected(row, context);
    const record = await this.awaitSuccessor(
      hash,
      Math.min(this.clock.now() + SUCCESSOR_WAIT_MS, lastChance),
    );
    if (!record) {
      if (this.clock.now() - rotatedAt >= intervalMs) return this.reuseDetected(row, context);
      // Within the interval but the winner's answer was never kept (it died before writing it, or the store
      // failed): it cannot be repeated. Not evidence of theft, so nothing is revoked.
      throw refreshTokenInvalid();
    }
    return this.replay(row, record, context);
  }

  /** The rotation's own answer, if its family is still alive and its user still may log in. */
  private async replay(
    row: RefreshToken,
    record: SuccessorRecord,
    context: RequestContext | undefined,
  ): Promise<TokenPair> {
    const successor = await this.refreshTokens.findOne({ where: { id: record.successorId } });
    if (!successor || successor.familyId !== row.familyId || row.replacedBy !== successor.id)
      throw refreshTokenInvalid();
    // Revoked without successor: the family ended meanwhile (logout…) and must stay ended.
    // Rotated: the client already moved on to a newer token; this copy is stale. Inside the interval that is
    // a straggler of the same burst, not proof of theft, so nothing is revoked.
    if (successor.revokedAt || successor.expiresAt.getTime() <= this.clock.now()) throw refreshTokenInvalid();
    await this.activeUser(successor, context);
    // The same pair again leaves a trace too: who presented a rotated token, when, from where.
    await this.audit.record({
      type: 'token.refreshed',
      userId: row.userId,
      appid: row.appid,
      sessionId: row.familyId,
      details: { reuseInterval: true },
      context,
    });
    this.metrics.refresh('reuse_interval');
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
      // The rotation is committed: failing this answer would lose the new token and log the user out.
      // Concurrent requests with the old token then get REFRESH_TOKEN_INVALID instead.
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

  /** The row's user, if it may still hold a session; a disabled user's session is ended. */
  private async activeUser(row: RefreshToken, context: RequestContext | undefined): Promise<User> {
    return this.mayAct(row, await this.users.findById(row.userId), context);
  }

  /** `user` (read for `row`), if it may still hold a session; a disabled user's session is ended. */
  private async mayAct(
    row: RefreshToken,
    user: User | null,
    context: RequestContext | undefined,
  ): Promise<User> {
    if (!user) throw refreshTokenInvalid();
    if (user.status !== 'active') {
      await this.sessions.end({ userId: row.userId, families: [row.familyId] }, 'user_inactive', { context });
      throw new AppException('USER_DISABLED');
    }
    return user;
  }

  private async reuseDetected(row: RefreshToken, context: RequestContext | undefined): Promise<never> {
    // The thief may hold the family's current access token too: end() revokes it as well.
    await this.sessions.end({ userId: row.userId, families: [row.familyId] }, 'reuse_detected', {
      appid: row.appid,
      reasonCode: 'REFRESH_TOKEN_REUSED',
      details: { initiator: 'system' },
      context,
    });
    throw new AppException('REFRESH_TOKEN_REUSED');
  }
}

/** The `auth_refresh_total` outcome of a refresh that threw. */
function refreshFailure(e: unknown): RefreshOutcome {
  if (!(e instanceof AppException)) return 'error';
  if (e.code === 'REFRESH_TOKEN_REUSED') return 'reused';
  if (e.code === 'REFRESH_TOKEN_INVALID') return 'invalid';
  if (e.code === 'USER_DISABLED') return 'user_disabled';
  return 'error';
}
