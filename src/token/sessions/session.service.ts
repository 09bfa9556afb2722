import { Injectable, Logger, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, MoreThan, Repository } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import type { AuditDetails } from '../../audit/audit-details';
import type { AuthEventType } from '../../audit/auth-event-type';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { TransactionRunner } from '../../database/transaction-runner';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { assertMayAct } from '../../users/user-access';
import { UsersService } from '../../users/users.service';
import { RefreshToken } from '../refresh-token.entity';
import { RevocationService } from '../revocation/revocation.service';
import type { TokenPair } from '../token-pair';
import { RefreshRows } from './refresh-rows';
import { hashRefreshToken, TokenIssuer } from './token-issuer';

/**
 * Which sessions end:
 * - `families`: these sessions (refresh families) of the user; rows revoked;
 * - `all`: every session of the user — `revoke` the rows (disable, logout-all), `delete` them (the user is
 *   gone: deletion, merge), or `keep` them (a role change: the next refresh issues tokens with the new
 *   roles). Every access token the user holds stops in all three cases.
 */
export type SessionsToEnd =
  { userId: string; families: string[] } | { userId: string; all: 'revoke' | 'delete' | 'keep' };

/** Why sessions end, and the audit event each reason writes (null: audited by the change that caused it). */
const END_EVENTS = {
  logout: 'session.logged_out',
  logout_all: 'sessions.logged_out_all',
  revoked: 'session.revoked',
  evicted: 'session.evicted',
  reuse_detected: 'token.reuse_detected',
  user_inactive: null,
  user_disabled: 'user.disabled',
  roles_changed: 'user.roles_changed',
  user_deleted: 'user.deleted',
  users_merged: 'users.merged',
} as const satisfies Record<string, AuthEventType | null>;

export type EndReason = keyof typeof END_EVENTS;

export interface EndOptions {
  /** The admin who acted, when it was an admin. */
  actorId?: string | null;
  context?: RequestContext;
  details?: AuditDetails;
  appid?: string | null;
  /** The stable code the audit row carries (token.reuse_detected). */
  reasonCode?: string;
  /** The user the audit row is about when it is not the one whose sessions end (a merge: the survivor). */
  auditUserId?: string;
}

/**
 * Login sessions: start, list, get — and `end`, the one way sessions end. Every path that stops sessions or
 * access tokens (logout, logout-all, a revoked device, eviction, reuse, disable, role change, deletion,
 * merge) goes through `end`, which alone updates the rows, publishes the revocation and writes the audit
 * row, in that order.
 *
 * Why that order: a refresh reads its row with the user, then the user's revocation epoch, and rotates with
 * an update conditional on the row still live and the user unchanged (active, the same roles). With the rows
 * and the user changed BEFORE the revocation is published, a refresh racing `end` either read the epoch
 * before the publication — its token carries the old epoch and the revocation stops it — or after it, and
 * then its conditional update sees the ended rows or the changed user, so it mints nothing (a changed user:
 * it starts over with the current one). Publishing first (as account deletion once did) left a window in which a
 * refresh read the new epoch and the still-live row and minted a token nothing revoked.
 *
 * A publication that fails (Redis out of reach) is still audited — the change happened — and then rethrown
 * (503): the caller did not get an acknowledgement, and the revocation is pushed again until it lands.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger(SessionService.name);
  /** The statements of every login (start) and refresh (RefreshService). */
  readonly rows: RefreshRows;

  constructor(
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly issuer: TokenIssuer,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {
    this.rows = new RefreshRows(refreshTokens.manager.connection);
  }

  /**
   * A new login session (refresh family) for the user.
   *
   * With `sessions.maxPerUser` (MAX_SESSIONS_PER_USER, 0 = unlimited) set, a login that takes the user past
   * it evicts the user's oldest live sessions — oldest by when the family was created (its first login), not
   * by its last refresh, ties broken by id — until the limit holds again; the new session is never the one
   * evicted. Counted after the new family is committed, so of parallel logins the last to count sees every
   * other one and the limit holds once they have all answered. A user created by this very login
   * (`isNewUser`) is not counted: its only other sessions can be those of parallel logins of the same
   * person, which count (and evict) themselves — one statement fewer per sign-up; nor is its revocation epoch
   * read (it has none yet) — one Redis round trip fewer.
   */
  async start(
    user: { id: string; roles: string[] },
    appid: string,
    context?: RequestContext,
    opts: { isNewUser?: boolean } = {},
  ): Promise<TokenPair> {
    const familyId = this.random.uuid();
    const refresh = this.issuer.newRefreshToken(user.id, appid, familyId);
    // The epoch first, then the user's current state (a revocation in between cannot slip through), then
    // the token. The state is checked by the session row's own insert, written only while the user is
    // active with the roles the token will carry; a user changed since the caller read it (or a role value
    // stored differently) takes the long way: the row, then the user read again.
    // A user this very login created has no epoch (one is only set by a revocation of an existing user): the
    // token carries none, which any revocation made after the user was read stops — so no read is needed.
    const epoch = opts.isNewUser ? 0 : await this.revocations.epochFor(user.id);
    let current: { id: string; roles: string[] } = user;
    if (!(await this.tx.retrying((em) => this.rows.insertForUser(em, refresh.row, user.roles), 'single'))) {
      await this.tx.retrying((em) => this.rows.insert(em, refresh.row), 'single');
      const read = await this.users.findById(user.id);
      assertMayAct(read);
      current = read;
    }
    if (!opts.isNewUser) await this.evictBeyondLimit(user.id, familyId, context);
    return this.issuer.pair(current, appid, familyId, refresh.token, epoch);
  }

  /** The user's live sessions: one current refresh token per family, newest first. */
  async list(userId: string): Promise<RefreshToken[]> {
    const rows = await this.refreshTokens.find({
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
      order: { createdAt: 'DESC' },
    });
    // The newest live row of each family (a rotation cut off between its two statements may leave a second
    // one, whose token nobody holds).
    const seen = new Set<string>();
    return rows.filter((r) => !seen.has(r.familyId) && seen.add(r.familyId));
  }

  /** Object-level ownership: a session that is not the user's is "not found", never "forbidden". */
  async get(userId: string, familyId: string): Promise<RefreshToken> {
    const row = await this.refreshTokens.findOne({
      where: { userId, familyId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
    if (!row) throw new AppException('NOT_FOUND');
    return row;
  }

  /** Whether the session still has a live refresh token: not logged out, revoked or expired. */
  isLive(userId: string, familyId: string): Promise<boolean> {
    return this.refreshTokens.exists({
      where: { userId, familyId, revokedAt: IsNull(), expiresAt: MoreThan(this.clock.date()) },
    });
  }

  /** Ends one of the user's own live sessions (a device signed out), by the user or an admin; else 404. */
  async revoke(userId: string, familyId: string, opts: EndOptions = {}): Promise<void> {
    await this.get(userId, familyId);
    await this.end({ userId, families: [familyId] }, 'revoked', opts);
  }

  /**
   * Self-service logout: the session of a presented refresh token (if it is the caller's), else the current
   * one, or every session with `all`. Idempotent; someone else's token revokes nothing and reveals nothing.
   */
  async logout(
    principal: { userId: string; sessionId: string },
    opts: { refreshToken?: string; all?: boolean },
    context?: RequestContext,
  ): Promise<void> {
    if (opts.all) {
      await this.end({ userId: principal.userId, all: 'revoke' }, 'logout_all', {
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
      if (!row || row.userId !== principal.userId) return;
      familyId = row.familyId;
    }
    await this.end({ userId: principal.userId, families: [familyId] }, 'logout', { context });
  }

  /** The one way sessions end: rows, then the revocation, then the audit row (see the class comment). */
  async end(target: SessionsToEnd, reason: EndReason, opts: EndOptions = {}): Promise<void> {
    const userId = target.userId.toLowerCase();
    const families = 'families' in target ? [...new Set(target.families)] : [];
    if ('families' in target && families.length === 0) return;

    if ('families' in target) {
      await this.tx.retrying(
        (em) =>
          em.update(
            RefreshToken,
            { familyId: In(families), userId, revokedAt: IsNull() },
            { revokedAt: this.clock.date() },
          ),
        'single',
      );
    } else if (target.all === 'revoke') {
      await this.tx.retrying(
        (em) => em.update(RefreshToken, { userId, revokedAt: IsNull() }, { revokedAt: this.clock.date() }),
        'single',
      );
    } else if (target.all === 'delete') {
      await this.tx.retrying((em) => em.delete(RefreshToken, { userId }), 'single');
    }
    // Once the rows changed: the sessions have ended here, whether or not the publication below lands.
    this.metrics.revocation(reason);

    let unpublished: unknown;
    try {
      if ('families' in target) for (const f of families) await this.revocations.revokeSession(f);
      else await this.revocations.revokeUser(userId);
    } catch (e) {
      unpublished = e;
    }

    const type = END_EVENTS[reason];
    if (type !== null) {
      const base = {
        type,
        userId: opts.auditUserId ?? userId,
        actorId: opts.actorId ?? null,
        appid: opts.appid ?? null,
        reason: opts.reasonCode ?? null,
        details: opts.details,
        context: opts.context,
      };
      if ('families' in target)
        for (const sessionId of families) await this.audit.record({ ...base, sessionId });
      else await this.audit.record(base);
    }
    if (unpublished !== undefined) throw unpublished;
  }

  /**
   * Deletes refresh-token rows that expired more than a day ago (a presented expired token is refused
   * either way; the day keeps recently expired rows for the reuse rules' last word). Returns how many.
   */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.clock.now() - 86_400_000);
    const res = await this.tx.retrying(
      (em) => em.delete(RefreshToken, { expiresAt: LessThan(cutoff) }),
      'single',
    );
    return res.affected ?? 0;
  }

  /** See `start`: revokes the user's oldest live families beyond `sessions.maxPerUser`, never `keep`. */
  private async evictBeyondLimit(userId: string, keep: string, context?: RequestContext): Promise<void> {
    const max = this.config.sessions.maxPerUser;
    if (max <= 0) return;
    const familyIds = await this.rows.liveFamilies(userId, this.clock.date());
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
    // The new session is kept explicitly: MariaDB's DATETIME has whole seconds, so logins of one second tie
    // and the tie-break alone could pick the session just handed out.
    const evicted = oldestFirst
      .filter((f) => f.familyId !== keep)
      .slice(0, oldestFirst.length - max)
      .map((f) => f.familyId);
    await this.end({ userId, families: evicted }, 'evicted', { details: { initiator: 'system' }, context });
    this.logger.log(
      { userId, evicted: evicted.length, max },
      'oldest sessions evicted (MAX_SESSIONS_PER_USER)',
    );
  }
}
