/** Time source; injected so tests control time instead of sleeping. */
export abstract class Clock {
  /** Milliseconds since the epoch. */
  abstract now(): number;

  /** Resolves after `ms`; a fake clock resolves when its time is advanced. */
  abstract sleep(ms: number): Promise<void>;

  date(): Date {
    return new Date(this.now());
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}
