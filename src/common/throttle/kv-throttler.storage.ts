import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { KvStore } from '../store/kv-store';

/**
 * @nestjs/throttler counters in the shared store (fixed window), so a limit
 * holds across instances when Redis is configured. Blocking lasts until the
 * window ends.
 */
@Injectable()
export class KvThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: KvStore) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const storeKey = `throttle:${throttlerName}:${key}`;
    const totalHits = await this.store.increment(storeKey, ttl);
    const remainingMs = await this.store.ttl(storeKey);
    const timeToExpire = Math.max(1, Math.ceil((remainingMs < 0 ? ttl : remainingMs) / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }
}
