import type { Clock } from '../../common/clock/clock';

export class LimiterRejected extends Error {
  constructor(readonly reason: 'queue-full' | 'deadline') {
    super(`concurrency limiter: ${reason}`);
  }
}

/**
 * At most `max` calls in flight; up to `maxQueue` more wait (FIFO) until a
 * slot frees or their deadline passes. A slow upstream therefore holds a
 * bounded number of sockets and requests instead of piling up without limit.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
    private readonly clock: Clock,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  /** Whether an `acquire` now would have to wait for a slot. */
  get full(): boolean {
    return this.active >= this.max;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function (idempotent); rejects with LimiterRejected. */
  acquire(deadline: number): Promise<() => void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new LimiterRejected('queue-full'));
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        this.active++;
        resolve(this.releaser());
      };
      this.waiting.push(grant);
      void this.clock.sleep(Math.max(0, deadline - this.clock.now())).then(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(new LimiterRejected('deadline'));
        }
      });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}
