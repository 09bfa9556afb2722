import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { IntervalTimer } from './interval-timer';

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
 * instances purging at once only find less to delete. A run still going when the next is due is not doubled;
 * a failed purge is logged and retried at the next tick, and does not keep the others from running.
 *
 * Part of the server only (MaintenanceModule): the operator CLI never purges anything.
 */
@Injectable()
export class PurgeScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Maintenance');
  private cancel?: () => void;
  private running?: Promise<void>;

  constructor(
    @Inject(PURGES) private readonly purges: Purge[],
    private readonly timer: IntervalTimer,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: start-up does not wait for a purge.
    void this.runOnce();
    this.cancel = this.timer.every(PURGE_INTERVAL_MS, () => void this.runOnce());
  }

  /** Stops the timer and waits for a run in flight, so it does not outlive the database connection. */
  async onModuleDestroy(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** One run of every purge; resolves when it is done (or at once if one is already running). Never rejects. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
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
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
