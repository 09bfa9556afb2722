import type { Redis } from 'ioredis';
import { AppException } from '../errors/app.exception';
import { KvStore } from './kv-store';

const INCREMENT_WITH_TTL = `
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** Compare-and-delete: a lock holder whose lease expired must not delete the next holder's lock. */
const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Redis-backed store; a Redis failure becomes 503 SERVICE_UNAVAILABLE, never a 500. */
export class RedisKvStore extends KvStore {
  readonly kind = 'redis' as const;

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

  async increment(key: string, ttlMs: number): Promise<number> {
    const res = await this.call(() =>
      this.client.eval(INCREMENT_WITH_TTL, 1, this.prefix + key, Math.max(1, Math.ceil(ttlMs))),
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
