import { Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { ReplicatedMap } from '../../common/store/replicated-map';
import { CHANNELS, REVOCATION_SCAN_PREFIX, StoreKeys } from '../../common/store/store-keys';
import { AppConfig } from '../../config/app-config';
import { decodeRevocation, type Revocation } from './revocation';
import { RevocationArchive } from './revocation-archive';

/** While the replica is not in sync (or entries wait to be pushed), the store is retried this often. */
const RETRY_MS = 2000;
/** With the in-process store, how often the `revocations` table is re-read (revocations made by other processes). */
export const DURABLE_POLL_MS = 2000;
/** Retry-After of the 503 a stale replica answers. */
const STALE_RETRY_AFTER_S = 5;

/**
 * Stops access tokens before they expire, without a database read on the guarded path.
 *
 * - A user-level epoch (disable, role change, logout-all, deletion, merge): each revocation sets a new one
 *   (its time in ms, and always above the previous one, so two revocations within one millisecond or one
 *   second still differ); tokens carry the epoch they were issued under (claim `uv`) and an older one is
 *   refused. The issuer reads the epoch (`epochFor`) BEFORE it relies on the user's roles and status — a
 *   login reads the user after it, a refresh checks in its rotating update that the user it read is
 *   unchanged: a refresh racing a role change or a disable either sees the new state or carries the old
 *   epoch — never the old state under the new epoch. The other half of that rule is on the revoking side: every database change a
 *   refresh checks (rows, the user) is made before the revocation (SessionService.end).
 * - A session-level revocation (logout, a revoked device): every access token of that session.
 *
 * Entries live in a ReplicatedMap (common/store): applied here at once, saved durably (the `revocations`
 * table, RevocationArchive), then to the store with a TTL of the access-token lifetime and published to
 * every instance, which holds all live entries in memory: the guard's check is a Map lookup. Bound:
 * immediate on the instance that revoked; on the others, the pub/sub delivery time (milliseconds with a
 * healthy Redis; tested under 1 s).
 *
 * A revocation is acknowledged (the call resolves) only once it is in the database AND in the store and
 * published; otherwise the call rejects (503) — but the entry is applied here and pushed again until it
 * lands. Instances load every live entry from the database and the store at start and after each
 * reconnection, so an acknowledged revocation holds on instances started later and after Redis restarted
 * empty. When the feed breaks, the replica answers for up to REDIS_OUTAGE_GRACE_S after it was last known
 * complete, then `isRevoked` answers 503 SERVICE_UNAVAILABLE for every token it does not know to be revoked
 * (fail closed); see ReplicatedMap.
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnModuleDestroy {
  private readonly replica: ReplicatedMap<Revocation>;

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    /** Absent only in unit tests that exercise the replica alone. */
    @Optional() private readonly archive?: RevocationArchive,
  ) {
    this.replica = new ReplicatedMap<Revocation>(store, clock, {
      channel: CHANNELS.revocations,
      prefix: REVOCATION_SCAN_PREFIX,
      keyOf,
      decode: decodeRevocation,
      expiresAt: (r) => r.until,
      // Entries only ever tighten: a late or repeated message cannot loosen a newer revocation.
      supersedes: (next, current) => next.validAfter >= current.validAfter,
      graceMs: config.redis.outageGraceSeconds * 1000,
      retryMs: RETRY_MS,
      durable: archive,
      // The in-process store reaches no other process: a revocation the operator CLI made (it writes the
      // database) is picked up from there within this long. With Redis it arrives by pub/sub instead.
      pollDurableMs: store.kind === 'memory' ? DURABLE_POLL_MS : undefined,
      alertPrefix: 'REVOCATION',
    });
  }

  /** Subscribes and loads every live entry (Bearer routes answer 503 until that succeeded once). */
  onModuleInit(): Promise<void> {
    return this.replica.start();
  }

  onModuleDestroy(): void {
    this.replica.stop();
  }

  /** Seconds since the replica was last known complete (the `revocation_replica_age_seconds` metric). */
  replicaAgeSeconds(): number {
    return this.replica.ageMs() / 1000;
  }

  /** Every access token of this user issued until now stops working. */
  async revokeUser(userId: string): Promise<void> {
    userId = userId.toLowerCase();
    let previous: number;
    try {
      previous = await this.epochFor(userId);
    } catch {
      // The store is out of reach past the grace: still applied here at once, and pushed once it answers
      // (put rethrows the 503). Epochs are times, so this one is above every earlier one anyway.
      previous = this.replica.get(StoreKeys.revokeUser(userId))?.validAfter ?? 0;
    }
    await this.replica.put({
      kind: 'u',
      id: userId,
      // Strictly above the previous epoch: two revocations in one millisecond still differ.
      validAfter: Math.max(this.clock.now(), previous + 1),
      until: this.until(),
    });
  }

  /**
   * Pushes the user's latest live revocation again, as it is (no new epoch): a repeated role or status
   * change whose first attempt could not publish (it answered 503) must still reach every instance, even
   * after Redis restarted empty. Nothing to do when the user has no live revocation.
   */
  async republishUser(userId: string): Promise<void> {
    userId = userId.toLowerCase();
    const now = this.clock.now();
    const local = this.replica.get(StoreKeys.revokeUser(userId));
    const durable = (await this.archive?.latestForUser(userId, now)) ?? undefined;
    const latest = [local, durable]
      .filter((r): r is Revocation => r !== undefined)
      .sort((a, b) => b.validAfter - a.validAfter)[0];
    if (latest) await this.replica.put(latest);
  }

  /** Every access token of this session (refresh-token family) stops working. */
  async revokeSession(sessionId: string): Promise<void> {
    await this.replica.put({ kind: 's', id: sessionId.toLowerCase(), validAfter: 0, until: this.until() });
  }

  /**
   * The guard's check: in memory only. Throws 503 SERVICE_UNAVAILABLE for a token not known to be revoked
   * while the replica may be stale beyond the grace (see the class comment).
   */
  isRevoked(token: { userId: string; sessionId: string; userEpoch: number }): boolean {
    // Token ids are our own lowercase UUIDs; entries are stored lowercase.
    if (this.replica.get(StoreKeys.revokeSession(token.sessionId)) !== undefined) return true;
    const user = this.replica.get(StoreKeys.revokeUser(token.userId));
    if (user !== undefined && token.userEpoch < user.validAfter) return true;
    if (!this.replica.usable()) throw this.stale();
    return false;
  }

  /**
   * The epoch a token issued to this user now must carry. Read from the store (the source of truth: this
   * instance's memory may be a few ms behind); call it before reading the user's roles and status. When
   * the store does not answer, the replica's, while it is usable (nobody reaching this instance's Redis
   * could have revoked meanwhile without this instance seeing it, beyond the grace); else 503.
   */
  async epochFor(userId: string): Promise<number> {
    userId = userId.toLowerCase();
    let stored: number;
    try {
      stored = await this.storedEpoch(userId);
    } catch (e) {
      if (!this.replica.usable()) throw e;
      stored = 0;
    }
    return Math.max(stored, this.replica.get(StoreKeys.revokeUser(userId))?.validAfter ?? 0);
  }

  private async storedEpoch(userId: string): Promise<number> {
    const raw = await this.store.get(StoreKeys.revokeUser(userId));
    return raw ? (decodeRevocation(raw)?.validAfter ?? 0) : 0;
  }

  private until(): number {
    // A token issued just before the revocation lives this long; a little slack for clock skew.
    return this.clock.now() + (this.config.jwt.accessTtlSeconds + 60) * 1000;
  }

  private stale(): AppException {
    return new AppException('SERVICE_UNAVAILABLE', { retryAfter: STALE_RETRY_AFTER_S });
  }
}

function keyOf(r: Revocation): string {
  return r.kind === 'u' ? StoreKeys.revokeUser(r.id) : StoreKeys.revokeSession(r.id);
}
