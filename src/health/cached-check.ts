import type { Clock } from '../common/clock/clock';

/** One dependency's state as the last check found it; `info` is what the probe reported (e.g. the store kind). */
export interface CheckOutcome {
  up: boolean;
  info: Record<string, unknown>;
}

export interface CachedCheckOptions {
  /** A new ping starts at most this often (per dependency, per instance). */
  intervalMs: number;
  /** A ping that has not answered by then counts as down. */
  timeoutMs: number;
}

/**
 * A dependency check that readiness probes can call as often as they like: a flood of `GET /health`
 * once took a pooled database connection per call, crowded out real requests (503 DATABASE_UNAVAILABLE)
 * and took every instance sharing the database out of readiness at once.
 *
 * - At most one ping per `intervalMs`: within it, callers get the last outcome.
 * - Callers arriving while a ping is running share it (one ping, one answer).
 * - A ping that has not answered after `timeoutMs` is down; no second ping is started while it is still
 *   outstanding (a hung database would otherwise collect one stuck query per interval), so callers keep
 *   getting "down" until it settles and the interval has passed.
 * Time comes from the Clock, so the behaviour is tested in fake time.
 */
export class CachedCheck {
  private last?: { startedAt: number; outcome: CheckOutcome };
  private round?: Promise<CheckOutcome>;
  private outstanding = false;

  constructor(
    private readonly probe: () => Promise<Record<string, unknown> | void>,
    private readonly clock: Clock,
    private readonly options: CachedCheckOptions,
  ) {}

  check(): Promise<CheckOutcome> {
    if (this.round) return this.round;
    const last = this.last;
    if (last && (this.outstanding || this.clock.now() - last.startedAt < this.options.intervalMs))
      return Promise.resolve(last.outcome);
    this.round = this.start();
    return this.round;
  }

  private async start(): Promise<CheckOutcome> {
    const startedAt = this.clock.now();
    this.outstanding = true;
    const ping = Promise.resolve()
      .then(() => this.probe())
      .then(
        (info): CheckOutcome => ({ up: true, info: info ?? {} }),
        (): CheckOutcome => ({ up: false, info: {} }),
      )
      .finally(() => {
        this.outstanding = false;
      });
    const timeout = this.clock
      .sleep(this.options.timeoutMs)
      .then((): CheckOutcome => ({ up: false, info: { timedOut: true } }));
    const outcome = await Promise.race([ping, timeout]);
    this.last = { startedAt, outcome };
    this.round = undefined;
    return outcome;
  }
}
