import type { Clock } from '../../common/clock/clock';

/**
 * The moment a request must have its answer by. Created once per request (login, phone lookup, …) and
 * handed down to every layer that may wait — the login-code ledger, the call policy's queue, retries and
 * backoff, each HTTP attempt — so no layer starts a fresh budget of its own.
 */
export class Deadline {
  private constructor(
    private readonly clock: Clock,
    /** Epoch milliseconds. */
    readonly at: number,
  ) {}

  static after(clock: Clock, ms: number): Deadline {
    return new Deadline(clock, clock.now() + ms);
  }

  /** Milliseconds left; negative once passed. */
  remainingMs(): number {
    return this.at - this.clock.now();
  }

  /** Whether `ms` more still fit before the deadline. */
  allows(ms: number): boolean {
    return this.clock.now() + ms <= this.at;
  }
}
