import { Logger } from '@nestjs/common';
import type { Clock } from '../clock/clock';
import type { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv-store';

/**
 * Fixed-window rate-limit counters in the shared store (one round trip a hit), so a limit holds across
 * instances. When the shared store does not answer, this instance counts on its own instead: the limit
 * then holds per instance (looser by the number of instances), and a Redis outage never turns a rate
 * limit into a 503. One warning per outage, with the error's name only.
 */
export class WindowCounter {
  private readonly local: MemoryKvStore;
  private readonly logger: Logger;
  private degraded = false;

  constructor(
    private readonly store: KvStore,
    clock: Clock,
    /** Names the limit in the outage warning (the Nest logger context). */
    context: string,
  ) {
    this.local = new MemoryKvStore(clock);
    this.logger = new Logger(context);
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; remainingMs: number }> {
    try {
      const counted = await this.store.hit(key, windowMs);
      this.degraded = false;
      return counted;
    } catch (e) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          { error: e instanceof Error ? e.name : 'unknown' },
          'shared store unavailable: rate limits counted per instance until it answers',
        );
      }
      return this.local.hit(key, windowMs);
    }
  }
}
