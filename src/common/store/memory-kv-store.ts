import { Clock } from '../clock/clock';
import { KvStore } from './kv-store';

interface Entry {
  value: string;
  expiresAt: number;
}

/** In-process store for a single instance. Expired keys are dropped lazily and by a periodic sweep. */
export class MemoryKvStore extends KvStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private writesSinceSweep = 0;

  constructor(private readonly clock: Clock) {
    super();
  }

  get(key: string): Promise<string | null> {
    return Promise.resolve(this.live(key)?.value ?? null);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.write(key, value, ttlMs);
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return Promise.resolve(false);
    this.write(key, value, ttlMs);
    return Promise.resolve(true);
  }

  increment(key: string, ttlMs: number): Promise<number> {
    const entry = this.live(key);
    if (!entry) {
      this.write(key, '1', ttlMs);
      return Promise.resolve(1);
    }
    const next = Number(entry.value) + 1;
    entry.value = String(next);
    return Promise.resolve(next);
  }

  ttl(key: string): Promise<number> {
    const entry = this.live(key);
    return Promise.resolve(entry ? entry.expiresAt - this.clock.now() : -1);
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }

  deleteIfEquals(key: string, value: string): Promise<boolean> {
    if (this.live(key)?.value !== value) return Promise.resolve(false);
    this.entries.delete(key);
    return Promise.resolve(true);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttlMs: number): void {
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlMs });
    // Bound memory without a timer: sweep expired keys every 1000 writes.
    if (++this.writesSinceSweep >= 1000) {
      this.writesSinceSweep = 0;
      const now = this.clock.now();
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }
  }
}
