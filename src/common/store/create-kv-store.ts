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
    // Fail fast: a request waiting on a dead Redis should become a 503, not hang. Every command (also one
    // waiting for a connection) ends within commandTimeout; RedisKvStore refuses commands at once while
    // the connection is known to be down.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    // Reconnect for ever, at most 2 s apart: recovery needs no restart.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
  });
  logOutages(client, new Logger('Redis'), secretsOf(config.redis.url));
  return new RedisKvStore(client, config.redis.keyPrefix);
}

/**
 * One warning when the connection breaks (ioredis emits an error on every reconnection attempt: the rest
 * go to debug) and one line when it is back. Only the error's message, with the URL's credentials
 * removed should a message ever quote them.
 */
export function logOutages(
  client: Pick<Redis, 'on'>,
  logger: Pick<Logger, 'warn' | 'log' | 'debug'>,
  secrets: string[],
): void {
  let down = false;
  let failures = 0;
  client.on('error', (err: Error) => {
    const message = redact(err.message, secrets);
    failures++;
    if (down) return logger.debug({ failures }, `redis error: ${message}`);
    down = true;
    logger.warn(
      { alert: 'REDIS_UNAVAILABLE' },
      `redis error: ${message} (reconnecting; shared-state routes answer 503 meanwhile)`,
    );
  });
  client.on('ready', () => {
    if (!down) return;
    logger.log({ failures }, 'redis connection ready again');
    down = false;
    failures = 0;
  });
}

/** The user name and password of a redis:// URL, raw and percent-decoded. */
export function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, u.username].filter((s) => s.length >= 3).flatMap((s) => [s, decodeURIComponent(s)]);
  } catch {
    return [];
  }
}

function redact(message: string, secrets: string[]): string {
  return secrets.reduce((m, s) => m.split(s).join('***'), message);
}
