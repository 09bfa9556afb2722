/**
 * Concurrent callers of the same key share one run of the work: the first caller starts it, every caller
 * that arrives while it runs gets the same promise (its value, or its error). The key is free again as
 * soon as the run settles, so a later call starts afresh — nothing is cached.
 *
 * For work that must not be done twice at once on this instance: a WeChat call that costs quota or money,
 * a login code that WeChat accepts once. Across instances the callers add a lock in the shared store.
 */
export class SingleFlight<V> {
  private readonly running = new Map<string, Promise<V>>();

  /** The run in progress for `key`, shared; else `work()`, started now and shared until it settles. */
  run(key: string, work: () => Promise<V>): Promise<V> {
    const existing = this.running.get(key);
    if (existing) return existing;
    let started: Promise<V>;
    try {
      started = work();
    } catch (e) {
      // A synchronous throw is the run's outcome, like a rejection.
      started = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    // Registered before anything can settle, so every caller from now on joins this run.
    const flight = started.finally(() => {
      if (this.running.get(key) === flight) this.running.delete(key);
    });
    this.running.set(key, flight);
    return flight;
  }

  /** The run in progress for `key`, if any: for a caller that treats joining apart from leading. */
  current(key: string): Promise<V> | undefined {
    return this.running.get(key);
  }

  /** Runs in progress. */
  get size(): number {
    return this.running.size;
  }
}
