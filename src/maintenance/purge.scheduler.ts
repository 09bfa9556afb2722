import { Inject, Injectable } from '@nestjs/common';
import { IntervalTimer } from './interval-timer';
import { RecurringJob } from './recurring-job';

export const PURGE_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** One kind of row that outlives its use: deleted by `run`, which returns how many went. */
export interface Purge {
  /** For the log lines: "audit retention", "expired refresh tokens", … */
  name: string;
  run(): Promise<number>;
}

/** The purges the scheduler runs (MaintenanceModule lists them). */
export const PURGES = Symbol('PURGES');

/**
 * Runs every purge at start, then every 6 hours: AUDIT_RETENTION_DAYS on the audit trail, expired
 * refresh-token rows, expired revocation rows. Every instance runs it; the deletes are idempotent, so two
 * instances purging at once only find less to delete (the rest of the rules: RecurringJob).
 */
@Injectable()
export class PurgeScheduler extends RecurringJob {
  constructor(
    @Inject(PURGES) private readonly purges: Purge[],
    timer: IntervalTimer,
  ) {
    super(timer, { intervalMs: PURGE_INTERVAL_MS, runAtStart: true, name: 'purge' });
  }

  /** Every purge in turn; one that fails is logged and does not keep the others from running. */
  protected async work(): Promise<void> {
    for (const purge of this.purges) {
      try {
        const n = await purge.run();
        if (n > 0) this.logger.log(`${purge.name}: purged ${n} rows`);
      } catch (e: unknown) {
        this.logger.warn(
          `${purge.name} purge failed (${e instanceof Error ? e.name : 'unknown error'}); retrying later`,
        );
      }
    }
  }
}
