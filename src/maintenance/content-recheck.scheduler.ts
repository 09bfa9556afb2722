import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AvatarRecheck } from '../wechat-auth/content/avatar-recheck';
import { IntervalTimer } from './interval-timer';

/** How often pending avatars are looked at (their 30 minutes are measured by the Clock, not by this). */
export const CONTENT_RECHECK_INTERVAL_MS = 60 * 1000;

/**
 * Runs AvatarRecheck every minute (WECHAT_CONTENT_CHECK=on; a no-op otherwise): avatars without WeChat's
 * verdict after 30 minutes are re-submitted once. Every instance runs it; the row claim inside makes each
 * avatar go out once. A run still going when the next is due is not doubled; a failure is logged and the
 * next tick tries again. Part of the server only, like the purges.
 */
@Injectable()
export class ContentRecheckScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Maintenance');
  private cancel?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly recheck: AvatarRecheck,
    private readonly timer: IntervalTimer,
  ) {}

  onApplicationBootstrap(): void {
    this.cancel = this.timer.every(CONTENT_RECHECK_INTERVAL_MS, () => void this.runOnce());
  }

  async onModuleDestroy(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** One run (or the one in flight); never rejects. */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.recheck
      .runOnce()
      .then(
        () => undefined,
        (e: unknown) => {
          this.logger.warn(
            `avatar re-submit failed (${e instanceof Error ? e.name : 'unknown error'}); retrying later`,
          );
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
