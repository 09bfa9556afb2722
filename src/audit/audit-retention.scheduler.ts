import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from './audit.service';
import { IntervalTimer } from './interval-timer';

export const PURGE_INTERVAL_MS = 6 * 60 * 60 * 1000;

/**
 * Applies AUDIT_RETENTION_DAYS: a purge at start, then every 6 hours. Every instance runs it; the deletes are
 * idempotent, so two instances purging at once only find less to delete. A run still going when the next is
 * due is not doubled; a failed run is logged and retried at the next tick.
 */
@Injectable()
export class AuditRetentionScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuditRetention');
  private cancel?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly audit: AuditService,
    private readonly timer: IntervalTimer,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: start-up does not wait for a purge.
    void this.runOnce();
    this.cancel = this.timer.every(PURGE_INTERVAL_MS, () => void this.runOnce());
  }

  /** Stops the timer and waits for a purge in flight, so it does not outlive the database connection. */
  async onModuleDestroy(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** One purge; resolves when it is done (or immediately if one is already running). Never rejects. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.audit
      .purgeOlderThan()
      .then((n) => {
        if (n > 0) this.logger.log(`purged ${n} audit events past the retention`);
      })
      .catch((e: unknown) => {
        this.logger.warn(
          `audit retention purge failed (${e instanceof Error ? e.name : 'unknown error'}); retrying later`,
        );
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
