import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { BoundedMap } from '../common/collections/bounded-map';
import { AppConfig } from '../config/app-config';
import type { User } from './user.entity';

/** Entries kept at most; beyond it the oldest go first (a user reading twice a second costs one row). */
const MAX_ENTRIES = 10_000;

interface Entry {
  user: Readonly<User>;
  expiresAt: number;
}

/**
 * This instance's short-lived copies of user rows, for `GET /users/me` only — the one read a mini program
 * repeats (every page that shows the profile). Never for decisions: issuing tokens, refresh and every
 * write read the row itself.
 *
 * Bound: a copy lives `users.readCacheTtlMs` (USER_CACHE_TTL_MS, default 1 s). Every write to a user on
 * this instance drops that user's copy when it is done, so a client sees its own change on the next read
 * here; a write on another instance shows here within the bound. A disabled, re-roled or deleted user
 * never gets a stale answer: their access tokens are revoked first (RevocationService), which the guard
 * checks before the handler runs.
 */
@Injectable()
export class UserReadCache {
  private readonly entries = new BoundedMap<string, Entry>(MAX_ENTRIES);
  /** Bumped by every write, so a load that a write overtook is not kept. */
  private generation = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The copy of `id`'s row while fresh, else `load()`'s answer (kept when it is a user). */
  async get(id: string, load: () => Promise<User | null>): Promise<User | null> {
    const ttl = this.config.users.readCacheTtlMs;
    if (ttl <= 0) return load();
    // Ids are UUIDs; an admin may name one in uppercase (MySQL matches it), tokens carry lowercase.
    id = id.toLowerCase();
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > this.clock.now()) return hit.user as User;
    if (hit) this.entries.delete(id);
    // Dropped before this load ends by a write: that write must win over what this load read.
    const generation = this.generation;
    const user = await load();
    if (user && generation === this.generation)
      this.entries.set(id, { user: Object.freeze(user), expiresAt: this.clock.now() + ttl });
    return user;
  }

  /** After a write to these users (their copies would be stale). */
  invalidate(...ids: string[]): void {
    this.generation++;
    for (const id of ids) this.entries.delete(id.toLowerCase());
  }
}
