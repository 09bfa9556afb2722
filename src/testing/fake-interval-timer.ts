import { IntervalTimer } from '../maintenance/interval-timer';

/** Ticks only when told: recurring jobs are tested without waiting minutes or hours (or at all). */
export class FakeIntervalTimer extends IntervalTimer {
  timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];

  every(ms: number, fn: () => void): () => void {
    const t = { ms, fn, cancelled: false };
    this.timers.push(t);
    return () => (t.cancelled = true);
  }

  tick(): void {
    for (const t of this.timers) if (!t.cancelled) t.fn();
  }
}
