import { Logger } from '@nestjs/common';
import type { Clock } from '../clock/clock';
import type { KvStore } from './kv-store';

/** A durable home for the entries (a database table): written before the store, read at every warm. */
export interface DurableEntries<E> {
  save(entry: E): Promise<void>;
  /** Every entry still live at `now`. */
  load(now: number): Promise<E[]>;
}

export interface ReplicatedMapOptions<E> {
  /** Pub/sub channel carrying each entry to every instance. */
  channel: string;
  /** Store key prefix under which every entry lives (the warm reads `entries(prefix)`). */
  prefix: string;
  /** Store key of an entry; must start with `prefix`. */
  keyOf(entry: E): string;
  /** The entry from its wire form, or null when it is malformed (ignored). */
  decode(raw: string): E | null;
  /** Epoch ms after which the entry can be forgotten. */
  expiresAt(entry: E): number;
  /** Whether `next` replaces `current` under the same key (entries that only tighten). */
  supersedes(next: E, current: E): boolean;
  /** How long the map stays usable after it was last known complete (the store's outage grace). */
  graceMs: number;
  /** How often the store is retried while the map is not in sync or entries wait to be pushed. */
  retryMs: number;
  durable?: DurableEntries<E>;
  /**
   * Re-read the durable home this often (ms). For a store without pub/sub across processes (the in-process
   * store): another process — the operator CLI — writes only to the database, and this is how it is seen.
   */
  pollDurableMs?: number;
  /** Names the map in its log lines and alerts (e.g. `REVOCATION` → REVOCATION_FEED_LOST). */
  alertPrefix: string;
}

/**
 * A map every instance holds in memory, kept in sync through the store: each entry is applied here at once,
 * saved (to the durable home when there is one, then to the store with a TTL up to its expiry) and published
 * to every instance; each instance loads every live entry at start and after each reconnection. Lookups are
 * Map reads: nothing on the hot path touches the network.
 *
 * When the feed breaks (Redis down, paused, restarted, or only this instance cut off):
 * - the map stays usable for `graceMs` after it was last known complete; the store is re-read every
 *   `retryMs` meanwhile (a re-read while the store answers counts as "known complete" again);
 * - after the grace `usable()` is false — the owner decides what that means (the revocations fail closed).
 *   An instance that never loaded the entries since its start has no grace;
 * - when the subscription is back (the store reconnects by itself), the entries are re-read before the map
 *   counts as in sync again, and every live entry held here is written back to the store when missing (a
 *   restarted Redis keeps nothing) and published, as is every entry whose save failed.
 * Entries only tighten (`supersedes`): a late or repeated message cannot loosen a newer entry. Freshness is
 * tracked from `start()` on; a map never started is a plain in-memory map.
 */
export class ReplicatedMap<E> {
  private readonly logger: Logger;
  private readonly entries = new Map<string, E>();
  private checksSincePrune = 0;
  private retry?: NodeJS.Timeout;
  private poll?: NodeJS.Timeout;
  private pollFailing = false;
  private stopped = false;

  /** The map is known complete (subscription active and re-read since). */
  private inSync = true;
  /** When not in sync: the last moment the map was known complete (-Infinity: never since start). */
  private staleSince = Number.NEGATIVE_INFINITY;
  /** Whether the subscription is active, and a counter of its losses (a re-read spanning one proves nothing). */
  private feedUp = false;
  private losses = 0;
  /** Whether the grace has run out (logged once per outage). */
  private refusing = false;
  /** Entries whose durable or store save or broadcast failed, by store key. */
  private readonly pending = new Map<string, E>();
  private resyncing?: Promise<void>;
  private loadFailing = false;
  private resyncAgain = false;
  private writeBackAll = false;

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly opts: ReplicatedMapOptions<E>,
  ) {
    this.logger = new Logger(`ReplicatedMap:${opts.channel}`);
  }

  /** Subscribes and loads; resolves once the first load was tried (it may have failed: see `usable`). */
  async start(): Promise<void> {
    this.inSync = false;
    try {
      await this.store.subscribe(
        this.opts.channel,
        (message) => this.applyRaw(message),
        () => this.feedResumed(),
        () => this.feedLost(),
      );
    } catch (e) {
      // The store is down at start: the subscription is kept and comes up by itself. Until then, and until
      // the entries are loaded, `usable()` is false (an instance that never read them knows nothing).
      this.warmFailed(e);
    }
    await this.resync();
    if (this.opts.pollDurableMs && this.opts.durable && !this.stopped) {
      this.poll = setInterval(() => void this.pollDurable(), this.opts.pollDurableMs);
      this.poll.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.poll) clearInterval(this.poll);
  }

  /** Applies what the durable home holds (see `pollDurableMs`); a failure is logged once per outage. */
  private async pollDurable(): Promise<void> {
    try {
      for (const entry of (await this.opts.durable?.load(this.clock.now())) ?? []) this.apply(entry);
      this.pollFailing = false;
    } catch (e) {
      if (this.pollFailing) return;
      this.pollFailing = true;
      this.logger.warn(
        { error: e instanceof Error ? e.name : 'unknown' },
        'could not re-read the durable entries; retrying',
      );
    }
  }

  /** The live entry under `key`, if any. */
  get(key: string): E | undefined {
    if (++this.checksSincePrune >= 10_000) this.prune();
    const e = this.entries.get(key);
    return e !== undefined && this.opts.expiresAt(e) > this.clock.now() ? e : undefined;
  }

  /** Whether the map may be trusted now: in sync, or within the grace since it last was. */
  usable(now = this.clock.now()): boolean {
    if (this.inSync) return true;
    const ok = now - this.staleSince <= this.opts.graceMs;
    if (!ok && !this.refusing) {
      this.refusing = true;
      this.logger.error(
        { alert: `${this.opts.alertPrefix}S_STALE`, graceSeconds: this.opts.graceMs / 1000 },
        'the feed has been down longer than its grace (REDIS_OUTAGE_GRACE_S), or never came up',
      );
    }
    return ok;
  }

  /** Whether the map is known complete right now (subscribed, and re-read since), with no grace counted. */
  get inSyncNow(): boolean {
    return this.inSync;
  }

  /** Milliseconds since the map was last known complete: 0 while in sync, Infinity if never since start. */
  ageMs(now = this.clock.now()): number {
    return this.inSync ? 0 : now - this.staleSince;
  }

  /**
   * Applies the entry here at once, whatever happens next; then saves it durably, stores and publishes it.
   * Rejects when any of those failed — the caller must not acknowledge it — but nothing is dropped: the
   * entry is pushed again every `retryMs` until everything took it.
   */
  async put(entry: E): Promise<void> {
    this.apply(entry);
    try {
      await this.push(entry);
    } catch (e) {
      this.pending.set(this.opts.keyOf(entry), entry);
      this.scheduleRetry();
      throw e;
    }
  }

  private async push(entry: E): Promise<void> {
    await this.opts.durable?.save(entry);
    const ttl = this.opts.expiresAt(entry) - this.clock.now();
    if (ttl <= 0) return;
    const raw = JSON.stringify(entry);
    // Stored (the source of truth for instances starting later), then broadcast.
    await this.store.set(this.opts.keyOf(entry), raw, ttl);
    await this.store.publish(this.opts.channel, raw);
  }

  private applyRaw(message: string): void {
    const entry = this.opts.decode(message);
    if (entry !== null) this.apply(entry);
  }

  private apply(entry: E): void {
    const key = this.opts.keyOf(entry);
    const current = this.entries.get(key);
    if (current === undefined || this.opts.supersedes(entry, current)) this.entries.set(key, entry);
  }

  /** The subscription may have stopped delivering: messages from now on may be missed. */
  private feedLost(): void {
    this.feedUp = false;
    this.losses++;
    if (!this.inSync) return;
    this.inSync = false;
    this.staleSince = this.clock.now();
    this.logger.warn(
      { alert: `${this.opts.alertPrefix}_FEED_LOST`, graceSeconds: this.opts.graceMs / 1000 },
      'feed lost: answering from the in-memory copy for up to REDIS_OUTAGE_GRACE_S',
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
      } while (this.resyncAgain && !this.stopped);
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
        this.logger.log('feed back: entries re-read from the store');
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
        'could not write entries back to the store; retrying',
      );
    }
    if (this.needsRetry()) this.scheduleRetry();
  }

  /** Every live entry: the durable home's (which survives a store that restarted empty), then the store's. */
  private async warm(): Promise<void> {
    const now = this.clock.now();
    for (const entry of (await this.opts.durable?.load(now)) ?? []) this.apply(entry);
    for (const [, raw] of await this.store.entries(this.opts.prefix)) this.applyRaw(raw);
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
    const entries = all ? [...this.entries.values()] : [...this.pending.values()];
    let restored = 0;
    for (const entry of entries) {
      const left = this.opts.expiresAt(entry) - now;
      if (left <= 0) continue;
      const key = this.opts.keyOf(entry);
      const wasPending = this.pending.has(key);
      if (wasPending) await this.opts.durable?.save(entry);
      const raw = JSON.stringify(entry);
      const created = await this.store.setIfAbsent(key, raw, left);
      if (created || wasPending) await this.store.publish(this.opts.channel, raw);
      if (created) restored++;
      this.pending.delete(key);
    }
    if (all) this.writeBackAll = false;
    for (const [key, entry] of this.pending) if (this.opts.expiresAt(entry) <= now) this.pending.delete(key);
    if (restored > 0)
      this.logger.warn(
        { alert: `${this.opts.alertPrefix}S_RESTORED`, restored },
        'entries missing from the store (Redis restarted empty?) written back from memory',
      );
  }

  /** Not in sync, an entry not pushed yet, or a write-back after a reconnection that failed part-way. */
  private needsRetry(): boolean {
    return !this.inSync || this.pending.size > 0 || this.writeBackAll;
  }

  private scheduleRetry(): void {
    if (this.retry || this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.needsRetry()) void this.resync();
    }, this.opts.retryMs);
    this.retry.unref();
  }

  private warmFailed(e: unknown): void {
    // Once per outage: the retries every retryMs would repeat it.
    if (this.loadFailing) return;
    this.loadFailing = true;
    this.logger.error(
      { alert: `${this.opts.alertPrefix}S_NOT_LOADED`, error: e instanceof Error ? e.name : 'unknown' },
      'could not load the entries; ones made meanwhile may be missed on this instance',
    );
  }

  private prune(): void {
    this.checksSincePrune = 0;
    const now = this.clock.now();
    for (const [key, e] of this.entries) if (this.opts.expiresAt(e) <= now) this.entries.delete(key);
  }
}
