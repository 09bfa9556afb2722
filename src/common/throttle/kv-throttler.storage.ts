import { Injectable, Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../clock/clock';
import { SystemClock } from '../clock/system-clock';
import { KvStore } from '../store/kv-store';
import { MemoryKvStore } from '../store/memory-kv-store';

/**
 * @nestjs/throttler counters in the shared store (fixed window), so a limit
 * holds across instances when Redis is configured. Blocking lasts until the
 * window ends.
 *
 * When the shared store does not answer, the counters fall back to this instance's memory: the limit
 * then holds per instance (looser by the number of instances), and the throttler itself never turns a
 * Redis outage into a 503. Routes that need the store for their own work still answer 503 (login: its
 * code ledger); refresh keeps working.
 */
@Injectable()
export class KvThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttler');
  private readonly local: KvStore;
  private degraded = false;

  constructor(
    private readonly store: KvStore,
    clock: Clock = new SystemClock(),
  ) {
    this.local = new MemoryKvStore(clock);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const storeKey = `throttle:${throttlerName}:${key}`;
    let totalHits: number;
    let remainingMs: number;
    try {
      totalHits = await this.store.increment(storeKey, ttl);
      remainingMs = await this.store.ttl(storeKey);
      this.degraded = false;
    } catch (e) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          { error: e instanceof Error ? e.name : 'unknown' },
          'shared store unavailable: rate limits counted per instance until it answers',
        );
      }
      totalHits = await this.local.increment(storeKey, ttl);
      remainingMs = await this.local.ttl(storeKey);
    }
    const timeToExpire = Math.max(1, Math.ceil((remainingMs < 0 ? ttl : remainingMs) / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }
}
