/**
 * Small shared-state store: in-process by default, Redis when REDIS_URL is set,
 * so several instances behind a load balancer behave like one.
 * Keys are plain strings built by `StoreKeys` (store-keys.ts); implementations add the configured prefix.
 *
 * A store that cannot answer throws `StoreUnavailableError` (answered as 503 SERVICE_UNAVAILABLE with
 * Retry-After) — fast, never a hang: within ~1 s (Redis' command timeout), at once while Redis is known to
 * be unreachable, and for every call after `close()`.
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
  /**
   * A fixed-window counter: +1, the window (`windowMs`) starting when the key is created; the count and
   * the ms left in the window. One round trip where the store can (Redis: one script).
   */
  async hit(key: string, windowMs: number): Promise<{ count: number; remainingMs: number }> {
    const count = await this.increment(key, windowMs);
    const left = await this.ttl(key);
    return { count, remainingMs: left < 0 ? windowMs : left };
  }
  /**
   * A claim that reads what the caller needs next: SET NX `key` with expiry; when this call created it, the
   * value of `companion` (null when absent), otherwise the value `key` holds (null if it expired meanwhile).
   * One round trip where the store can (Redis: one script, so both keys must share a Cluster slot: give them
   * one hash tag, as `StoreKeys.loginCodeClaim` / `loginCodeAnswer` do).
   */
  async claim(
    key: string,
    value: string,
    ttlMs: number,
    companion: string,
  ): Promise<{ created: boolean; value: string | null }> {
    if (!(await this.setIfAbsent(key, value, ttlMs))) return { created: false, value: await this.get(key) };
    try {
      return { created: true, value: await this.get(companion) };
    } catch (e) {
      // All or nothing, like the script: a claim whose read failed is given back (best effort; it expires anyway).
      await this.delete(key).catch(() => undefined);
      throw e;
    }
  }
  abstract delete(key: string): Promise<void>;
  /** Atomic compare-and-delete: removes the key only while it still holds `value` (safe lock release). */
  abstract deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Every live key under `prefix` with its value (for warming an in-memory view at start). */
  abstract entries(prefix: string): Promise<Array<[key: string, value: string]>>;
  /** Fire-and-forget broadcast to every instance's subscribers (including this one's). */
  abstract publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for every message on `channel`.
   *
   * `onResync` is called each time the subscription becomes active — the first time and after every
   * reconnection — once messages are flowing again, so the subscriber can re-read what it mirrors
   * (messages published while it was not subscribed are lost). `onLost` is called when the subscription
   * may have stopped delivering (connection closed, or the server stopped answering the heartbeat):
   * from then until the next `onResync`, messages may be missed.
   *
   * The subscription is kept (and re-established by itself) even when the returned promise rejects
   * because the store could not be reached at first: call this once per channel.
   */
  abstract subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResync: () => void,
    onLost?: () => void,
  ): Promise<void>;
  /** Throws when the backing store does not answer (used by /health). */
  abstract ping(): Promise<void>;
  /**
   * Stops every timer and subscription and closes the connections: called once, at application shutdown
   * (CommonModule), after the requests in flight are done. Idempotent; every call after it is refused.
   * The default is for test doubles that hold nothing; both real stores override it.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }
  abstract readonly kind: 'memory' | 'redis';
}
