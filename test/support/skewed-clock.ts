import { Clock } from '../../src/common/clock/clock';

/** A service clock of real time plus an offset: a test moves time forward (expiry, a 30-minute re-submit) without waiting. */
export class SkewedClock extends Clock {
  offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }
}
