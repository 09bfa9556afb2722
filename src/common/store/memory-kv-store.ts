import { Clock } from '../clock/clock';
import { KvStore } from './kv-store';
import { StoreUnavailableError } from './store-unavailable.error';

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * In-process store for a single instance. Expired keys are dropped lazily and by a periodic sweep. After
 * `close()` every call is refused, as Redis' would be after `quit`.
 */
export class MemoryKvStore extends KvStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Entry>();
  private readonly listeners = new Map<string, ((message: string) => void)[]>();
  private writesSinceSweep = 0;
  private closed = false;

  constructor(private readonly clock: Clock) {
    super();
  }

  get(key: string): Promise<string | null> {
    if (this.closed) return refused();
    return Promise.resolve(this.live(key)?.value ?? null);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    if (this.closed) return refused();
    this.write(key, value, ttlMs);
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.closed) return refused();
    if (this.live(key)) return Promise.resolve(false);
    this.write(key, value, ttlMs);
    return Promise.resolve(true);
  }

  increment(key: string, ttlMs: number, by = 1): Promise<number> {
    if (this.closed) return refused();
    const entry = this.live(key);
    if (!entry) {
      this.write(key, String(by), ttlMs);
      return Promise.resolve(by);
    }
    const next = Number(entry.value) + by;
    entry.value = String(next);
    return Promise.resolve(next);
  }

  ttl(key: string): Promise<number> {
    if (this.closed) return refused();
    const entry = this.live(key);
    return Promise.resolve(entry ? entry.expiresAt - this.clock.now() : -1);
  }

  delete(key: string): Promise<void> {
    if (this.closed) return refused();
    this.data.delete(key);
    return Promise.resolve();
  }

  deleteIfEquals(key: string, value: string): Promise<boolean> {
    if (this.closed) return refused();
    if (this.live(key)?.value !== value) return Promise.resolve(false);
    this.data.delete(key);
    return Promise.resolve(true);
  }

  entries(prefix: string): Promise<Array<[string, string]>> {
    if (this.closed) return refused();
    const out: Array<[string, string]> = [];
    for (const key of this.data.keys()) {
      const entry = key.startsWith(prefix) ? this.live(key) : undefined;
      if (entry) out.push([key, entry.value]);
    }
    return Promise.resolve(out);
  }

  publish(channel: string, message: string): Promise<void> {
    if (this.closed) return refused();
    // One process: deliver synchronously, so a revocation is visible before the call returns.
    for (const listener of this.listeners.get(channel) ?? []) listener(message);
    return Promise.resolve();
  }

  /** One process: the subscription is active at once and never lost (`onLost` is never called). */
  subscribe(channel: string, onMessage: (message: string) => void, onResync: () => void): Promise<void> {
    if (this.closed) return refused();
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), onMessage]);
    onResync();
    return Promise.resolve();
  }

  ping(): Promise<void> {
    if (this.closed) return refused();
    return Promise.resolve();
  }

  override close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.data.clear();
    return Promise.resolve();
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.get(key);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.data.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttlMs: number): void {
    this.data.set(key, { value, expiresAt: this.clock.now() + ttlMs });
    // Bound memory without a timer: sweep expired keys every 1000 writes.
    if (++this.writesSinceSweep >= 1000) {
      this.writesSinceSweep = 0;
      const now = this.clock.now();
      for (const [k, e] of this.data) if (e.expiresAt <= now) this.data.delete(k);
    }
  }
}

function refused(): Promise<never> {
  return Promise.reject(new StoreUnavailableError(1, { cause: new Error('store closed') }));
}
