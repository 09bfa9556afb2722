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
  /** Atomic increment (by `by`, default 1; negative to give back); the expiry is set when the key is created. */
  abstract increment(key: string, ttlMs: number, by?: number): Promise<number>;
  /** Remaining time to live in ms, or -1 when the key does not exist. */
  abstract ttl(key: string): Promise<number>;
  abstract delete(key: string): Promise<void>;
  /** Atomic compare-and-delete: removes the key only while it still holds `value` (safe lock release). */
  abstract deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Every live key under `prefix` with its value (for warming an in-memory view at start). */
  abstract entries(prefix: string): Promise<Array<[key: string, value: string]>>;
  /** Fire-and-forget broadcast to every instance's subscribers (including this one's). */
  abstract publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for every message on `channel`, and `onResync` whenever messages may have been
   * missed (after a reconnect), so the subscriber can re-read what it mirrors.
   */
  abstract subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResync: () => void,
  ): Promise<void>;
  /** Throws when the backing store does not answer (used by /health). */
  abstract ping(): Promise<void>;
  abstract readonly kind: 'memory' | 'redis';
}
