import { Clock } from './clock';

/** Test clock: time moves only when told; sleepers wake when their time is reached. */
export class FakeClock extends Clock {
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(private current = Date.UTC(2026, 0, 1)) {
    super();
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.sleepers.push({ at: this.current + Math.max(0, ms), wake });
      this.wakeDue();
    });
  }

  advance(ms: number): void {
    this.current += ms;
    this.wakeDue();
  }

  private wakeDue(): void {
    const due = this.sleepers.filter((s) => s.at <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.at > this.current);
    for (const s of due) s.wake();
  }
}
