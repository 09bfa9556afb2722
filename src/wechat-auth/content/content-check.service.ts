import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import {
  ProfileChecks,
  type NicknameVerdict,
  type ProfileCaller,
  type ProfileContentCheck,
} from '../../users/profile-checks';
import { ProfileModeration, type MediaVerdict, type SettleOutcome } from '../../users/profile-moderation';
import { userGone, UsersService, type IdentitySummary } from '../../users/users.service';
import { EventHandlers, type MediaCheckEvent } from '../events/event-handlers';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { appKind } from '../wechat-apps';
import { MediaCheckAsyncCall, TRACE_ID } from './media-check-async.endpoint';
import { MsgSecCheckCall, noMiniProgramIdentity, readVerdict } from './msg-sec-check.endpoint';

/** How long a verdict is kept for a profile update that has not committed its trace id yet. */
export const VERDICT_TTL_MS = 60 * 60 * 1000;

/**
 * WeChat's content checks on the profile (docs/content-checks.md), plugged into `users` through the
 * ProfileContentCheck port when WECHAT_CONTENT_CHECK=on: the nickname through msg_sec_check, the avatar
 * through media_check_async, and the avatar's verdict from the `wxa_media_check` push.
 *
 * A push may overtake the profile update that asked for it (WeChat answers the trace id, the push arrives,
 * and only then does the update commit the pending row). So every verdict is first remembered under its
 * trace id, then applied; and an update, once its pending row is written, looks for a remembered verdict.
 * Each side writes before it reads, so whichever comes second sees the other; applying is a conditional
 * UPDATE, so both applying it, or WeChat repeating the push, changes nothing more.
 */
@Injectable()
export class ContentCheckService implements ProfileContentCheck, OnModuleInit {
  private readonly logger = new Logger('ContentCheck');

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly users: UsersService,
    private readonly checks: ProfileChecks,
    private readonly moderation: ProfileModeration,
    private readonly events: EventHandlers,
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    // Off: the profile is saved as sent, no WeChat call, and the push's default handler stays.
    if (!this.config.content.enabled) return;
    this.checks.use(this);
    this.events.on('wxa_media_check', (event) => this.onMediaCheck(event as MediaCheckEvent));
  }

  async checkNickname(caller: ProfileCaller, nickname: string): Promise<NicknameVerdict> {
    const { app, openid } = await this.identity(caller);
    const verdict = await this.wechat.call(
      new MsgSecCheckCall(),
      app,
      { content: nickname, openid },
      this.deadline(),
      caller.context,
    );
    if (verdict.suggest !== 'risky') return verdict.suggest;
    await this.audit.record({
      type: 'profile.content_rejected',
      userId: caller.userId,
      appid: app.appid,
      details: { contentField: 'nickname', contentLabel: verdict.label },
      context: caller.context,
    });
    throw new AppException('CONTENT_REJECTED', { details: [`label:${verdict.label}`] });
  }

  async submitAvatar(caller: ProfileCaller, url: string): Promise<string> {
    const { app, openid } = await this.identity(caller);
    return this.wechat.call(
      new MediaCheckAsyncCall(),
      app,
      { mediaUrl: url, openid },
      this.deadline(),
      caller.context,
    );
  }

  async afterPending(traceId: string): Promise<void> {
    const raw = await this.store.get(StoreKeys.mediaVerdict(traceId));
    if (raw !== null) await this.settle(traceId, JSON.parse(raw) as MediaVerdict);
  }

  /** The `wxa_media_check` handler (the push is verified before it is dispatched). */
  async onMediaCheck(event: MediaCheckEvent): Promise<void> {
    const traceId =
      typeof event.trace_id === 'string' && TRACE_ID.test(event.trace_id) ? event.trace_id : null;
    const verdict = readVerdict(event.result);
    if (traceId === null || !verdict || (event.errcode !== undefined && event.errcode !== 0)) {
      // No usable verdict: the avatar stays pending (re-submitted once after 30 minutes).
      this.logger.warn(
        {
          event: 'wxa_media_check',
          traceId,
          errcode: typeof event.errcode === 'number' ? event.errcode : null,
        },
        'media check push without a usable verdict: ignored',
      );
      return;
    }
    const remembered: MediaVerdict = { suggest: verdict.suggest, label: verdict.label };
    await this.store.set(StoreKeys.mediaVerdict(traceId), JSON.stringify(remembered), VERDICT_TTL_MS);
    const outcome = await this.settle(traceId, remembered);
    if (!outcome.settled) {
      this.logger.debug(
        { event: 'wxa_media_check', traceId },
        'media check verdict for no pending avatar (unknown, settled, replaced, or not committed yet): kept 1 h',
      );
    }
  }

  private async settle(traceId: string, verdict: MediaVerdict): Promise<SettleOutcome> {
    const outcome = await this.moderation.settle(traceId, verdict);
    if (outcome.settled) {
      this.logger.log({ userId: outcome.userId, traceId, status: outcome.status }, 'avatar check settled');
      if (outcome.status === 'rejected')
        await this.audit.record({
          type: 'profile.content_rejected',
          userId: outcome.userId,
          details: { contentField: 'avatar', contentLabel: verdict.label ?? 0 },
        });
    }
    return outcome;
  }

  /**
   * The mini program WeChat checks on behalf of, and the user's openid in it: msg_sec_check and
   * media_check_async are mini-program APIs (an Official Account's or website's token and openid get
   * 40003/43104). The session's app when it is a configured mini program the user has an identity in;
   * else the user's most recently used identity in a configured mini program; none: 409 NO_WECHAT_SESSION,
   * without calling WeChat (every call is metered).
   */
  private async identity(caller: { userId: string; appid: string }): Promise<{
    app: WechatAppCredentials;
    openid: string;
  }> {
    const session = this.config.wechat.apps.get(caller.appid);
    if (session && appKind(session) === 'miniprogram') {
      const identity = await this.users.identityOf(caller.userId, session.appid);
      if (identity) return { app: session, openid: identity.openid };
    }
    const candidates = (await this.users.listIdentities(caller.userId))
      .filter((i) => i.kind === 'miniprogram' && i.appid !== session?.appid)
      .map((i) => ({ summary: i, app: this.config.wechat.apps.get(i.appid) }))
      .filter((c) => c.app !== undefined && appKind(c.app) === 'miniprogram')
      .sort((a, b) => lastUsed(b.summary) - lastUsed(a.summary));
    for (const { app } of candidates) {
      const identity = await this.users.identityOf(caller.userId, app!.appid);
      if (identity) return { app: app!, openid: identity.openid };
    }
    if (!(await this.users.findById(caller.userId))) throw userGone();
    throw noMiniProgramIdentity();
  }

  private deadline(): Deadline {
    return Deadline.after(this.clock, this.config.wechat.apiDeadlineMs);
  }
}

function lastUsed(identity: IdentitySummary): number {
  return (identity.lastLoginAt ?? identity.createdAt).getTime();
}
