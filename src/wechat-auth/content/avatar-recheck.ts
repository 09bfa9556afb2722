import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import { ProfileModeration } from '../../users/profile-moderation';
import { ContentCheckService } from './content-check.service';

/** WeChat promises an image's verdict within 30 minutes: an avatar waiting longer is sent once more. */
export const RECHECK_AFTER_MS = 30 * 60 * 1000;
/** Avatars re-submitted per run at most (the next run takes the rest). */
const BATCH = 50;

/**
 * The re-submit of avatars whose verdict never came (run every minute by MaintenanceModule's
 * ContentRecheckScheduler): an avatar pending for 30 minutes is sent to media_check_async once more under
 * a new trace id; one still without a verdict 30 minutes later stays pending, for admins to see
 * (`GET /admin/users/{id}`). Each avatar is claimed by a conditional UPDATE before it is sent, so with
 * several instances running this only one sends it. A failed re-submission is logged and not retried.
 */
@Injectable()
export class AvatarRecheck {
  private readonly logger = new Logger('ContentCheck');

  constructor(
    private readonly config: AppConfig,
    private readonly moderation: ProfileModeration,
    @Inject(ContentCheckService)
    private readonly content: Pick<ContentCheckService, 'submitAvatar' | 'afterPending'>,
    private readonly clock: Clock,
  ) {}

  /** One pass; resolves with how many avatars were re-submitted. */
  async runOnce(): Promise<number> {
    if (!this.config.content.enabled) return 0;
    const due = await this.moderation.overdue(new Date(this.clock.now() - RECHECK_AFTER_MS), BATCH);
    let resubmitted = 0;
    for (const pending of due) {
      if (!(await this.moderation.claimResubmit(pending))) continue;
      try {
        const traceId = await this.content.submitAvatar(
          { userId: pending.userId, appid: pending.appid },
          pending.url,
        );
        if (await this.moderation.replaceTrace(pending, traceId)) await this.content.afterPending(traceId);
        resubmitted++;
      } catch (e: unknown) {
        this.logger.warn(
          { userId: pending.userId, error: e instanceof Error ? e.name : typeof e },
          'avatar re-submission failed: left pending for an admin',
        );
      }
    }
    if (resubmitted > 0)
      this.logger.log(`re-submitted ${resubmitted} avatars without a verdict after 30 min`);
    return resubmitted;
  }
}
