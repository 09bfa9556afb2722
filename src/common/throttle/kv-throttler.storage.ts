import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../clock/clock';
import { SystemClock } from '../clock/system-clock';
import { KvStore } from '../store/kv-store';
import { WindowCounter } from '../store/window-counter';

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
  private readonly counter: WindowCounter;

  constructor(store: KvStore, clock: Clock = new SystemClock()) {
    this.counter = new WindowCounter(store, clock, 'Throttler');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { count: totalHits, remainingMs } = await this.counter.hit(`throttle:${throttlerName}:${key}`, ttl);
    const timeToExpire = Math.max(1, Math.ceil(remainingMs / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }
}
