import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/app-config';
import type { Clock } from '../clock/clock';
import type { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv-store';
import { RedisKvStore } from './redis-kv-store';

export function createKvStore(config: AppConfig, clock: Clock): KvStore {
  if (!config.redis.url) return new MemoryKvStore(clock);
  const client = new Redis(config.redis.url, {
    // Fail fast: a request waiting on a dead Redis should become a 503, not hang.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
  });
  const logger = new Logger('Redis');
  // ioredis reconnects by itself; log the reason only (the URL may hold a password).
  client.on('error', (err: Error) => logger.warn(`redis error: ${err.message}`));
  return new RedisKvStore(client, config.redis.keyPrefix);
}
