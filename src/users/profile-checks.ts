import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../common/request-context';

/** Who changes their profile, and through which mini program (the access token's appid). */
export interface ProfileCaller {
  userId: string;
  appid: string;
  context?: RequestContext;
}

/** What a content check may answer for a nickname it lets through. */
export type NicknameVerdict = 'pass' | 'review';

/**
 * The port through which a content check sees profile changes (docs/content-checks.md). `users` may not
 * import `wechat-auth`: the WeChat side implements this and registers it with `ProfileChecks.use` at start
 * (only with WECHAT_CONTENT_CHECK=on); without one, a profile change is saved as it is.
 */
export interface ProfileContentCheck {
  /** WeChat's text check; throws 422 CONTENT_REJECTED (nothing saved) for a risky nickname. */
  checkNickname(caller: ProfileCaller, nickname: string): Promise<NicknameVerdict>;
  /** Sends the avatar to WeChat's asynchronous image check; its trace id (the verdict arrives by push). */
  submitAvatar(caller: ProfileCaller, url: string): Promise<string>;
  /** Called once the pending avatar is written under `traceId`: applies a verdict that arrived first. */
  afterPending(traceId: string): Promise<void>;
}

/** Holds the registered content check, if any (see ProfileContentCheck). */
@Injectable()
export class ProfileChecks {
  private check?: ProfileContentCheck;

  use(check: ProfileContentCheck): void {
    this.check = check;
  }

  get current(): ProfileContentCheck | undefined {
    return this.check;
  }
}
