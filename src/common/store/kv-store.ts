/**
 * Small shared-state store: in-process by default, Redis when REDIS_URL is set,
 * so several instances behind a load balancer behave like one.
 * Keys are plain strings; implementations add the configured prefix.
 */
export abstract class KvStore {
  abstract get(key: string): Promise<string | null>;
  abstract set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Atomic SET NX with expiry; true when this call created the key. */
  abstract setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Atomic increment; the expiry is set when the key is created. Returns the new value. */
  abstract increment(key: string, ttlMs: number): Promise<number>;
  /** Remaining time to live in ms, or -1 when the key does not exist. */
  abstract ttl(key: string): Promise<number>;
  abstract delete(key: string): Promise<void>;
  /** Atomic compare-and-delete: removes the key only while it still holds `value` (safe lock release). */
  abstract deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Throws when the backing store does not answer (used by /health). */
  abstract ping(): Promise<void>;
  abstract readonly kind: 'memory' | 'redis';
}
