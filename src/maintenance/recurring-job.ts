import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { IntervalTimer } from './interval-timer';

/**
 * A background job of the server (MaintenanceModule; the operator CLI never runs one): `work` every
 * `intervalMs` (and at start when `runAtStart`). Every instance runs it, so the work must be idempotent or
 * claim what it does. A run still going when the next is due is not doubled; a failure is logged by its
 * error's name only and the next tick tries again; shutdown stops the timer and waits for a run in flight,
 * so none outlives the database connection.
 */
export abstract class RecurringJob implements OnApplicationBootstrap, OnModuleDestroy {
  protected readonly logger = new Logger('Maintenance');
  private cancel?: () => void;
  private running?: Promise<void>;

  protected constructor(
    private readonly timer: IntervalTimer,
    private readonly schedule: { intervalMs: number; runAtStart: boolean; name: string },
  ) {}

  /** One run; may throw (logged, retried at the next tick). */
  protected abstract work(): Promise<void>;

  onApplicationBootstrap(): void {
    // Not awaited: start-up does not wait for a run.
    if (this.schedule.runAtStart) void this.runOnce();
    this.cancel = this.timer.every(this.schedule.intervalMs, () => void this.runOnce());
  }

  async onModuleDestroy(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** One run; resolves when it is done (or with the run in flight). Never rejects. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.work()
      .catch((e: unknown) => {
        this.logger.warn(
          `${this.schedule.name} failed (${e instanceof Error ? e.name : 'unknown error'}); retrying later`,
        );
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
