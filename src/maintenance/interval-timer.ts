import { Injectable } from '@nestjs/common';

/** Repeating timers behind an injectable, so the retention scheduler is tested without waiting hours. */
export abstract class IntervalTimer {
  /** Calls `fn` every `ms` until the returned function is called. */
  abstract every(ms: number, fn: () => void): () => void;
}

@Injectable()
export class NodeIntervalTimer extends IntervalTimer {
  every(ms: number, fn: () => void): () => void {
    // unref: a pending purge never keeps the process (or a test run) alive.
    const handle = setInterval(fn, ms).unref();
    return () => clearInterval(handle);
  }
}
