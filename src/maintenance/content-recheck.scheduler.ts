import { Injectable } from '@nestjs/common';
import { AvatarRecheck } from '../wechat-auth/content/avatar-recheck';
import { IntervalTimer } from './interval-timer';
import { RecurringJob } from './recurring-job';

/** How often pending avatars are looked at (their 30 minutes are measured by the Clock, not by this). */
export const CONTENT_RECHECK_INTERVAL_MS = 60 * 1000;

/**
 * Runs AvatarRecheck every minute (WECHAT_CONTENT_CHECK=on; a no-op otherwise): avatars without WeChat's
 * verdict after 30 minutes are re-submitted once. Every instance runs it; the row claim inside makes each
 * avatar go out once (the rest of the rules: RecurringJob).
 */
@Injectable()
export class ContentRecheckScheduler extends RecurringJob {
  constructor(
    private readonly recheck: AvatarRecheck,
    timer: IntervalTimer,
  ) {
    super(timer, { intervalMs: CONTENT_RECHECK_INTERVAL_MS, runAtStart: false, name: 'avatar re-submit' });
  }

  protected async work(): Promise<void> {
    await this.recheck.runOnce();
  }
}
