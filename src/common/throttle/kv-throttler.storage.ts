import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../clock/clock';
import { KvStore } from '../store/kv-store';
import { StoreKeys } from '../store/store-keys';
import { WindowCounter } from '../store/window-counter';

/**
 * @nestjs/throttler counters as WindowCounter's fixed windows: shared across instances through the store,
 * per instance while it does not answer (the throttler never turns a Redis outage into a 503; routes that
 * need the store for their own work still do — login, for its code ledger). Blocking lasts until the
 * window ends.
 */
@Injectable()
export class KvThrottlerStorage implements ThrottlerStorage {
  private readonly counter: WindowCounter;

  constructor(store: KvStore, clock: Clock) {
    this.counter = new WindowCounter(store, clock, 'Throttler');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { count: totalHits, remainingMs } = await this.counter.hit(
      StoreKeys.throttle(throttlerName, key),
      ttl,
    );
    const timeToExpire = Math.max(1, Math.ceil(remainingMs / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }
}
