import type { Clock } from '../../common/clock/clock';

export type BreakerPermit = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

/**
 * Consecutive-failure circuit breaker. Closed: calls pass. After `threshold`
 * upstream failures in a row: open, calls fail fast for `cooldownMs`. Then
 * half-open: exactly one probe goes through; its success closes the circuit,
 * its failure opens it again.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openUntil = 0;
  private state: 'closed' | 'open' | 'half-open' = 'closed';
  private probeInFlight = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly clock: Clock,
  ) {}

  get current(): 'closed' | 'open' | 'half-open' {
    return this.state;
  }

  tryAcquire(): BreakerPermit {
    const now = this.clock.now();
    if (this.state === 'open') {
      if (now < this.openUntil) return { allowed: false, retryAfterMs: this.openUntil - now };
      this.state = 'half-open';
    }
    if (this.state === 'half-open') {
      // Others keep failing fast while the single probe is out.
      if (this.probeInFlight) return { allowed: false, retryAfterMs: 1000 };
      this.probeInFlight = true;
      return { allowed: true, probe: true };
    }
    return { allowed: true, probe: false };
  }

  /** WeChat answered (even with a business errcode such as 40029): it is up. */
  onSuccess(): void {
    this.consecutiveFailures = 0;
    this.state = 'closed';
    this.probeInFlight = false;
  }

  /** No usable answer: network error, timeout, HTTP 5xx, garbage or errcode -1. */
  onFailure(): void {
    this.probeInFlight = false;
    this.consecutiveFailures++;
    if (this.state === 'half-open' || this.consecutiveFailures >= this.threshold) {
      this.state = 'open';
      this.openUntil = this.clock.now() + this.cooldownMs;
    }
  }

  /** A permitted call ended without telling anything about WeChat's health (e.g. a local error). */
  onAbandon(permit: BreakerPermit): void {
    if (permit.allowed && permit.probe) this.probeInFlight = false;
  }
}
