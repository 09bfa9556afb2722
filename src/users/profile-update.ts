import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../common/request-context';
import { ProfileChecks } from './profile-checks';
import { ProfileModeration, type ProfileWrite } from './profile-moderation';
import type { User } from './user.entity';
import { UsersService, type ProfilePatch } from './users.service';

/**
 * `PATCH`/`PUT /users/me` after validation: saved as it is, or, when a content check is registered
 * (WECHAT_CONTENT_CHECK=on), through it (docs/content-checks.md):
 * - nickname: checked first; risky → 422 CONTENT_REJECTED and nothing of the request is saved; review →
 *   saved and flagged for admins. An unchanged nickname is not sent again (its flag stays).
 * - avatar: sent to WeChat's image check, then kept aside as pending (the previous avatar stays visible)
 *   until the verdict arrives by push. Sending the avatar already shown publishes nothing new and drops a
 *   pending one; null clears both. WeChat is called before anything is written, so a failed call leaves
 *   the profile as it was.
 */
@Injectable()
export class ProfileUpdate {
  constructor(
    private readonly users: UsersService,
    private readonly checks: ProfileChecks,
    private readonly moderation: ProfileModeration,
  ) {}

  /** `user`: the caller's current row (already checked: may act). `null` when the user is gone. */
  async apply(
    user: User,
    appid: string,
    patch: ProfilePatch,
    context?: RequestContext,
  ): Promise<User | null> {
    const check = this.checks.current;
    if (!check) return this.users.updateProfile(user.id, patch);
    const caller = { userId: user.id, appid, context };
    const write: ProfileWrite = {};
    if (patch.nickname !== undefined && patch.nickname !== user.nickname) {
      write.nickname = patch.nickname;
      write.nicknameReview =
        patch.nickname !== null && (await check.checkNickname(caller, patch.nickname)) === 'review';
    }
    if (patch.avatarUrl === null || (patch.avatarUrl !== undefined && patch.avatarUrl === user.avatarUrl)) {
      write.avatarUrl = patch.avatarUrl;
    } else if (patch.avatarUrl !== undefined) {
      const traceId = await check.submitAvatar(caller, patch.avatarUrl);
      write.pendingAvatar = { url: patch.avatarUrl, appid, traceId };
    }
    await this.moderation.write(user.id, write);
    if (write.pendingAvatar) await check.afterPending(write.pendingAvatar.traceId);
    return this.users.findById(user.id);
  }
}
