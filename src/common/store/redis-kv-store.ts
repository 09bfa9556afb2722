import type { Redis } from 'ioredis';
import { AppException } from '../errors/app.exception';
import { KvStore } from './kv-store';

const INCREMENT_WITH_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** Compare-and-delete: a lock holder whose lease expired must not delete the next holder's lock. */
const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Redis-backed store; a Redis failure becomes 503 SERVICE_UNAVAILABLE, never a 500. */
export class RedisKvStore extends KvStore {
  readonly kind = 'redis' as const;
  private readonly subscribers: Redis[] = [];

  constructor(
    readonly client: Redis,
    private readonly prefix: string,
  ) {
    super();
  }

  get(key: string): Promise<string | null> {
    return this.call(() => this.client.get(this.prefix + key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.call(() => this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const res = await this.call(() =>
      this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    return res === 'OK';
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const res = await this.call(() =>
      this.client.eval(INCREMENT_WITH_TTL, 1, this.prefix + key, Math.max(1, Math.ceil(ttlMs)), by),
    );
    return Number(res);
  }

  async ttl(key: string): Promise<number> {
    const res = await this.call(() => this.client.pttl(this.prefix + key));
    return res < 0 ? -1 : res;
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.client.del(this.prefix + key));
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    const res = await this.call(() => this.client.eval(DELETE_IF_EQUALS, 1, this.prefix + key, value));
    return Number(res) === 1;
  }

  async entries(prefix: string): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.call(() =>
        this.client.scan(cursor, 'MATCH', `${escapeGlob(this.prefix + prefix)}*`, 'COUNT', 500),
      );
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.call(() => this.client.mget(...keys));
      keys.forEach((k, i) => {
        const v = values[i];
        if (v !== null) out.push([k.slice(this.prefix.length), v]);
      });
    } while (cursor !== '0');
    return out;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.call(() => this.client.publish(this.prefix + channel, message));
  }

  /**
   * A second connection in subscriber mode (a subscribed connection can run no other command). ioredis
   * re-subscribes after a reconnect; messages published meanwhile are lost, hence `onResync` on every
   * (re)connection.
   */
  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResync: () => void,
  ): Promise<void> {
    const subscriber = this.client.duplicate();
    this.subscribers.push(subscriber);
    const name = this.prefix + channel;
    // Also on the first connection: it may come after the caller's first read failed.
    subscriber.on('ready', onResync);
    subscriber.on('message', (ch: string, message: string) => {
      if (ch === name) onMessage(message);
    });
    // Errors are logged by the main client's handler pattern; a subscriber reconnects by itself.
    subscriber.on('error', () => undefined);
    await this.call(() => subscriber.subscribe(name));
  }

  /** Closes the subscriber connections (the main client is closed by its owner). */
  async closeSubscribers(): Promise<void> {
    await Promise.all(this.subscribers.map((s) => s.quit().catch(() => undefined)));
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.ping());
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (cause) {
      throw new AppException('SERVICE_UNAVAILABLE', { retryAfter: 5, cause });
    }
  }
}

/** SCAN MATCH treats `*?[]\\` as glob syntax: a prefix is matched literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
