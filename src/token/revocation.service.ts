import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { KvStore } from '../common/store/kv-store';
import { AppConfig } from '../config/app-config';

const CHANNEL = 'revocations';
const USER_PREFIX = 'revoke:user:';
const SESSION_PREFIX = 'revoke:sid:';
/** While the replica is not in sync (or entries wait to be written back), the store is retried this often. */
const RETRY_MS = 2000;
/** Retry-After of the 503 a stale replica answers. */
const STALE_RETRY_AFTER_S = 5;

interface Revocation {
  /** 'u': every access token of a user issued under an earlier epoch; 's': every token of a session. */
  kind: 'u' | 's';
  id: string;
  /**
   * For a user: the epoch (epoch milliseconds of the revocation, strictly increasing per user) that tokens
   * must carry at least (claim `uv`). For a session: 0 (all of its tokens).
   */
  validAfter: number;
  /** Epoch ms after which the entry can be forgotten: every token it could stop has expired by then. */
  until: number;
}

/**
 * Stops access tokens before they expire, without a database read on the guarded path.
 *
 * - A user-level epoch (disable, role change, logout-all, deletion, merge): each revocation sets a new one
 *   (its time in ms, and always above the previous one, so two revocations within one millisecond or one
 *   second still differ); tokens carry the epoch they were issued under (claim `uv`) and an older one is
 *   refused. The issuer reads the epoch (`epochFor`) BEFORE it reads the user's roles and status: a refresh
 *   racing a role change or a disable either sees the new state or carries the old epoch — never the old
 *   state under the new epoch.
 * - A session-level revocation (logout, a revoked device): every access token of that session.
 *
 * Each entry is applied here at once, written to the store (memory, or Redis with REDIS_URL) with a TTL of
 * the access-token lifetime — after that every token it could stop has expired — and published to every
 * instance, which keeps all live entries in memory (the replica): the guard's check is a Map lookup.
 * Bound: immediate on the instance that revoked; on the others, the pub/sub delivery time (milliseconds with
 * a healthy Redis; tested under 1 s).
 *
 * When the feed breaks (Redis down, paused, restarted, or only this instance cut off):
 * - the replica stays usable for `redis.outageGraceSeconds` (REDIS_OUTAGE_GRACE_S) after it was last known
 *   complete — a revocation made meanwhile on an instance that still reaches Redis is honoured here at most
 *   that late. The store is re-read every RETRY_MS while the feed is down (a re-read while Redis answers
 *   counts as "known complete" again);
 * - after the grace, `isRevoked` answers 503 SERVICE_UNAVAILABLE for every token it does not know to be
 *   revoked (fail closed): every Bearer route and introspection. An instance that never loaded the entries
 *   since its start has no grace;
 * - when the subscription is back (ioredis reconnects by itself), the entries are re-read before the
 *   replica counts as in sync again, and every live entry this instance holds is written back to the store
 *   when missing (a restarted Redis keeps nothing) and published, as is every revocation whose store write
 *   or broadcast failed (it answered 503, but this instance applied it and keeps pushing it).
 * Freshness is tracked from `onModuleInit` (the subscription) on; a service never initialised is a plain
 * in-memory replica.
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RevocationService.name);
  private readonly users = new Map<string, Revocation>();
  private readonly sessions = new Map<string, Revocation>();
  private checksSincePrune = 0;
  private retry?: NodeJS.Timeout;
  private destroyed = false;

  /** The replica is known complete (subscription active and re-read since). */
  private inSync = true;
  /** When not in sync: the last moment the replica was known complete (-Infinity: never since start). */
  private staleSince = Number.NEGATIVE_INFINITY;
  /** Whether the store's subscription is active, and a counter of its losses (a re-read spanning one proves nothing). */
  private feedUp = false;
  private losses = 0;
  /** Whether the grace has run out and requests are being refused (logged once per outage). */
  private refusing = false;
  /** Entries whose store write or broadcast failed: store key → value. */
  private readonly pending = new Map<string, string>();
  private resyncing?: Promise<void>;
  private loadFailing = false;
  private resyncAgain = false;
  private writeBackAll = false;

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.inSync = false;
    try {
      await this.store.subscribe(
        CHANNEL,
        (message) => this.apply(message),
        () => this.feedResumed(),
        () => this.feedLost(),
      );
    } catch (e) {
      // Redis down at start: the subscription is kept and comes up by itself. Until then, and until the
      // entries are loaded, Bearer routes answer 503 (an instance that never read them knows nothing).
      this.warmFailed(e);
    }
    // The first re-read (the subscription's, or ours when the store cannot be subscribed to yet).
    await this.resync();
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    if (this.retry) clearTimeout(this.retry);
  }

  /** Every access token of this user issued until now stops working. */
  async revokeUser(userId: string): Promise<void> {
    let previous: number;
    try {
      previous = await this.epochFor(userId);
    } catch {
      // The store is out of reach past the grace: still applied here at once, and pushed once it answers
      // (save rethrows the 503). Epochs are times, so this one is above every earlier one anyway.
      previous = this.users.get(userId.toLowerCase())?.validAfter ?? 0;
    }
    await this.save({
      kind: 'u',
      id: userId,
      // Strictly above the previous epoch: two revocations in one millisecond still differ.
      validAfter: Math.max(this.clock.now(), previous + 1),
      until: this.until(),
    });
  }

  /** Every access token of this session (refresh-token family) stops working. */
  async revokeSession(sessionId: string): Promise<void> {
    await this.save({ kind: 's', id: sessionId, validAfter: 0, until: this.until() });
  }

  /**
   * The guard's check: in memory only. Throws 503 SERVICE_UNAVAILABLE for a token not known to be revoked
   * while the replica may be stale beyond the grace (see the class comment).
   */
  isRevoked(token: { userId: string; sessionId: string; userEpoch: number }): boolean {
    if (++this.checksSincePrune >= 10_000) this.prune();
    const now = this.clock.now();
    // Token ids are our own lowercase UUIDs; entries are stored lowercase (see `save`).
    const session = this.sessions.get(token.sessionId);
    if (session && session.until > now) return true;
    const user = this.users.get(token.userId);
    if (user !== undefined && user.until > now && token.userEpoch < user.validAfter) return true;
    if (!this.usable(now)) throw this.stale();
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
      if (!this.usable(this.clock.now())) throw e;
      stored = 0;
    }
    return Math.max(stored, this.users.get(userId)?.validAfter ?? 0);
  }

  private async storedEpoch(userId: string): Promise<number> {
    const raw = await this.store.get(USER_PREFIX + userId);
    if (!raw) return 0;
    try {
      const r = JSON.parse(raw) as Revocation;
      return typeof r.validAfter === 'number' ? r.validAfter : 0;
    } catch {
      return 0;
    }
  }

  private until(): number {
    // A token issued just before the revocation lives this long; a little slack for clock skew.
    return this.clock.now() + (this.config.jwt.accessTtlSeconds + 60) * 1000;
  }

  private async save(r: Revocation): Promise<void> {
    // Ids are UUIDs; tokens carry them lowercase. MySQL compares them case-insensitively, so an admin
    // naming a user in uppercase must still revoke that user's tokens.
    r.id = r.id.toLowerCase();
    const key = keyOf(r);
    const value = JSON.stringify(r);
    // Here first, whatever the store does: this instance refuses the tokens from now on.
    this.apply(value);
    try {
      // Stored (the source of truth for instances starting later), then broadcast.
      await this.store.set(key, value, r.until - this.clock.now());
      await this.store.publish(CHANNEL, value);
    } catch (e) {
      // Not acknowledged (the caller answers 503), but not dropped either: pushed once the store answers.
      this.pending.set(key, value);
      this.scheduleRetry();
      throw e;
    }
  }

  private apply(message: string): void {
    let r: Revocation;
    try {
      r = JSON.parse(message) as Revocation;
    } catch {
      return;
    }
    if ((r.kind !== 'u' && r.kind !== 's') || typeof r.id !== 'string' || typeof r.validAfter !== 'number')
      return;
    const map = r.kind === 'u' ? this.users : this.sessions;
    const current = map.get(r.id);
    // Entries only ever tighten: a late or repeated message cannot loosen a newer revocation.
    if (!current || r.validAfter >= current.validAfter) map.set(r.id, r);
  }

  private usable(now: number): boolean {
    if (this.inSync) return true;
    const ok = now - this.staleSince <= this.config.redis.outageGraceSeconds * 1000;
    if (!ok && !this.refusing) {
      this.refusing = true;
      this.logger.error(
        { alert: 'REVOCATIONS_STALE', graceSeconds: this.config.redis.outageGraceSeconds },
        'the revocation feed has been down longer than REDIS_OUTAGE_GRACE_S (or never came up): ' +
          'Bearer routes answer 503 until it is back',
      );
    }
    return ok;
  }

  private stale(): AppException {
    return new AppException('SERVICE_UNAVAILABLE', { retryAfter: STALE_RETRY_AFTER_S });
  }

  /** The subscription may have stopped delivering: messages from now on may be missed. */
  private feedLost(): void {
    this.feedUp = false;
    this.losses++;
    if (!this.inSync) return;
    this.inSync = false;
    this.staleSince = this.clock.now();
    this.logger.warn(
      { alert: 'REVOCATION_FEED_LOST', graceSeconds: this.config.redis.outageGraceSeconds },
      'revocation feed lost: accepting tokens from the in-memory replica for up to REDIS_OUTAGE_GRACE_S',
    );
    this.scheduleRetry();
  }

  /** The subscription is active again (or for the first time): re-read, then push what the store lacks. */
  private feedResumed(): void {
    this.feedUp = true;
    this.writeBackAll = true;
    void this.resync();
  }

  /** Single-flight; a request arriving during a run runs again after it (it may follow a reconnection). */
  private resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.resyncOnce();
      } while (this.resyncAgain && !this.destroyed);
    })().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    const losses = this.losses;
    const feedUp = this.feedUp;
    const startedAt = this.clock.now();
    try {
      await this.warm();
    } catch (e) {
      this.warmFailed(e);
      this.scheduleRetry();
      return;
    }
    if (feedUp && losses === this.losses) {
      if (!this.inSync && this.staleSince !== Number.NEGATIVE_INFINITY)
        this.logger.log('revocation feed back: replica re-read from the store');
      this.inSync = true;
      this.refusing = false;
    } else if (!this.inSync) {
      // Complete as of the read, though messages may be missed from then on.
      this.staleSince = Math.max(this.staleSince, startedAt);
    }
    try {
      await this.writeBack();
    } catch (e) {
      this.logger.warn(
        { error: e instanceof Error ? e.name : 'unknown', pending: this.pending.size },
        'could not write revocations back to the store; retrying',
      );
    }
    if (this.needsRetry()) this.scheduleRetry();
  }

  private async warm(): Promise<void> {
    for (const [, value] of await this.store.entries('revoke:')) this.apply(value);
    this.loadFailing = false;
  }

  /**
   * After a reconnection, every live entry the store lacks (a restarted Redis keeps nothing) is stored and
   * published; so is every entry whose save failed. SET NX: a newer entry in the store is never loosened.
   */
  private async writeBack(): Promise<void> {
    const all = this.writeBackAll;
    if (!all && this.pending.size === 0) return;
    const now = this.clock.now();
    const entries = all ? [...this.users.values(), ...this.sessions.values()] : this.pendingEntries();
    let restored = 0;
    for (const r of entries) {
      if (r.until <= now) continue;
      const key = keyOf(r);
      const value = JSON.stringify(r);
      const created = await this.store.setIfAbsent(key, value, r.until - now);
      if (created || this.pending.has(key)) await this.store.publish(CHANNEL, value);
      if (created) restored++;
      this.pending.delete(key);
    }
    if (all) this.writeBackAll = false;
    for (const [key, value] of this.pending) if (JSON.parse(value).until <= now) this.pending.delete(key);
    if (restored > 0)
      this.logger.warn(
        { alert: 'REVOCATIONS_RESTORED', restored },
        'revocations missing from the store (Redis restarted empty?) written back from memory',
      );
  }

  private pendingEntries(): Revocation[] {
    return [...this.pending.values()].map((v) => JSON.parse(v) as Revocation);
  }

  /** Not in sync, a save not pushed yet, or a write-back after a reconnection that failed part-way. */
  private needsRetry(): boolean {
    return !this.inSync || this.pending.size > 0 || this.writeBackAll;
  }

  private scheduleRetry(): void {
    if (this.retry || this.destroyed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.needsRetry()) void this.resync();
    }, RETRY_MS);
    this.retry.unref();
  }

  private warmFailed(e: unknown): void {
    // Once per outage: the retries every RETRY_MS would repeat it.
    if (this.loadFailing) return;
    this.loadFailing = true;
    this.logger.error(
      { alert: 'REVOCATIONS_NOT_LOADED', error: e instanceof Error ? e.name : 'unknown' },
      'could not load revocations from the store; revocations made meanwhile may be missed on this instance',
    );
  }

  private prune(): void {
    this.checksSincePrune = 0;
    const now = this.clock.now();
    for (const map of [this.users, this.sessions])
      for (const [id, r] of map) if (r.until <= now) map.delete(id);
  }
}

function keyOf(r: Revocation): string {
  return (r.kind === 'u' ? USER_PREFIX : SESSION_PREFIX) + r.id;
}
