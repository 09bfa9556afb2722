import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { KvStore } from '../common/store/kv-store';
import { AppConfig } from '../config/app-config';

const CHANNEL = 'revocations';
const USER_PREFIX = 'revoke:user:';
const SESSION_PREFIX = 'revoke:sid:';

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
 * Each entry is written to the store (memory, or Redis with REDIS_URL) with a TTL of the access-token
 * lifetime — after that every token it could stop has expired — and published to every instance, which
 * keeps all live entries in memory: the guard's check is a Map lookup. An instance loads the entries at start
 * and again after its subscription reconnects (messages published meanwhile would be lost).
 * Bound: immediate on the instance that revoked; on the others, the pub/sub delivery time (milliseconds with
 * a healthy Redis; tested under 1 s).
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RevocationService.name);
  private readonly users = new Map<string, Revocation>();
  private readonly sessions = new Map<string, Revocation>();
  private checksSincePrune = 0;
  private subscribed = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      if (!this.subscribed) {
        await this.store.subscribe(
          CHANNEL,
          (message) => this.apply(message),
          () => void this.warm().catch((e: unknown) => this.warmFailed(e)),
        );
        this.subscribed = true;
      }
      await this.warm();
    } catch (e) {
      // Redis down at start: serve anyway (tokens verify locally) and keep trying; say so loudly.
      this.warmFailed(e);
      this.retry = setTimeout(() => void this.onModuleInit(), 5000);
      this.retry.unref();
    }
  }

  onModuleDestroy(): void {
    if (this.retry) clearTimeout(this.retry);
  }

  /** Every access token of this user issued until now stops working. */
  async revokeUser(userId: string): Promise<void> {
    const previous = await this.epochFor(userId);
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

  /** The guard's check: in memory only. */
  isRevoked(token: { userId: string; sessionId: string; userEpoch: number }): boolean {
    if (++this.checksSincePrune >= 10_000) this.prune();
    const now = this.clock.now();
    // Token ids are our own lowercase UUIDs; entries are stored lowercase (see `save`).
    const session = this.sessions.get(token.sessionId);
    if (session && session.until > now) return true;
    const user = this.users.get(token.userId);
    return user !== undefined && user.until > now && token.userEpoch < user.validAfter;
  }

  /**
   * The epoch a token issued to this user now must carry. Read from the store (the source of truth: this
   * instance's memory may be a few ms behind); call it before reading the user's roles and status.
   */
  async epochFor(userId: string): Promise<number> {
    userId = userId.toLowerCase();
    return Math.max(await this.storedEpoch(userId), this.users.get(userId)?.validAfter ?? 0);
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
    const key = (r.kind === 'u' ? USER_PREFIX : SESSION_PREFIX) + r.id;
    const value = JSON.stringify(r);
    // Stored first (the source of truth for instances starting later), then applied here and broadcast.
    await this.store.set(key, value, r.until - this.clock.now());
    this.apply(value);
    await this.store.publish(CHANNEL, value);
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

  private async warm(): Promise<void> {
    for (const [, value] of await this.store.entries('revoke:')) this.apply(value);
  }

  private warmFailed(e: unknown): void {
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
