import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThanOrEqual, Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { UserReadCache } from './user-read-cache';
import { User } from './user.entity';

/** One profile change after its checks: what `ProfileModeration.write` stores. */
export interface ProfileWrite {
  nickname?: string | null;
  /** WeChat said `review` for this nickname (false: pass, or cleared). */
  nicknameReview?: boolean;
  /** Published at once (cleared with null): a pending avatar, if any, is dropped. */
  avatarUrl?: string | null;
  /** Sent to WeChat's image check: kept aside until the verdict for `traceId` arrives. */
  pendingAvatar?: { url: string; appid: string; traceId: string };
}

/** WeChat's verdict on an image (`result` of `wxa_media_check`). */
export interface MediaVerdict {
  suggest: 'pass' | 'review' | 'risky';
  label?: number;
}

/** An avatar still waiting for its verdict. */
export interface PendingAvatar {
  userId: string;
  url: string;
  appid: string;
  traceId: string | null;
}

export type SettleOutcome =
  { settled: true; userId: string; status: 'approved' | 'rejected' } | { settled: false };

/**
 * The avatar (and nickname) states of WeChat's content checks in the users table (docs/content-checks.md).
 * Every transition is a conditional UPDATE on the row's current trace id and status, so two instances, a
 * repeated push or a push racing a newer profile change cannot apply a verdict twice or to the wrong avatar.
 */
@Injectable()
export class ProfileModeration {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly clock: Clock,
    private readonly readCache: UserReadCache,
  ) {}

  /** Stores a checked profile change; nothing to store is a no-op. */
  async write(userId: string, w: ProfileWrite): Promise<void> {
    const changes: Partial<User> = {};
    if (w.nickname !== undefined) changes.nickname = w.nickname;
    if (w.nicknameReview !== undefined) changes.nicknameReview = w.nicknameReview;
    if (w.avatarUrl !== undefined) {
      Object.assign(changes, NO_PENDING, { avatarUrl: w.avatarUrl, avatarReview: false });
      changes.avatarStatus = 'none';
    }
    if (w.pendingAvatar) {
      Object.assign(changes, {
        avatarStatus: 'pending',
        avatarPendingUrl: w.pendingAvatar.url,
        avatarCheckAppid: w.pendingAvatar.appid,
        avatarTraceId: w.pendingAvatar.traceId,
        avatarSubmittedAt: this.clock.date(),
        avatarResubmitted: false,
      } satisfies Partial<User>);
    }
    if (Object.keys(changes).length === 0) return;
    await this.users.update({ id: userId }, { ...changes, updatedAt: this.clock.date() });
    this.readCache.invalidate(userId);
  }

  /**
   * Applies WeChat's verdict to the avatar pending under `traceId`: pass or review publishes it (review
   * flagged for admins), risky drops it. Not settled: no avatar waits for this trace id (unknown, already
   * settled, or replaced by a newer change).
   */
  async settle(traceId: string, verdict: MediaVerdict): Promise<SettleOutcome> {
    const row = await this.users.findOne({
      where: { avatarTraceId: traceId, avatarStatus: 'pending' },
      select: { id: true },
    });
    if (!row) return { settled: false };
    const rejected = verdict.suggest === 'risky';
    const result = await this.users
      .createQueryBuilder()
      .update(User)
      .set({
        ...(rejected
          ? {}
          : { avatarUrl: () => 'avatar_pending_url', avatarReview: verdict.suggest === 'review' }),
        ...NO_PENDING,
        avatarStatus: rejected ? 'rejected' : 'approved',
        updatedAt: this.clock.date(),
      })
      .where('id = :id AND avatar_trace_id = :traceId AND avatar_status = :pending', {
        id: row.id,
        traceId,
        pending: 'pending',
      })
      .execute();
    if (!result.affected) return { settled: false };
    this.readCache.invalidate(row.id);
    return { settled: true, userId: row.id, status: rejected ? 'rejected' : 'approved' };
  }

  /** Avatars sent at or before `cutoff` and never re-sent: the re-submit job's work list. */
  async overdue(cutoff: Date, limit: number): Promise<PendingAvatar[]> {
    const rows = await this.users.find({
      where: {
        avatarStatus: 'pending',
        avatarSubmittedAt: LessThanOrEqual(cutoff),
        avatarResubmitted: false,
      },
      order: { avatarSubmittedAt: 'ASC' },
      take: limit,
    });
    return rows
      .filter((r) => r.avatarPendingUrl !== null && r.avatarCheckAppid !== null)
      .map((r) => ({
        userId: r.id,
        url: r.avatarPendingUrl!,
        appid: r.avatarCheckAppid!,
        traceId: r.avatarTraceId,
      }));
  }

  /**
   * Claims one overdue avatar for its one re-submission: true for exactly one caller, however many
   * instances run the job (the UPDATE's condition is the claim).
   */
  async claimResubmit(p: PendingAvatar): Promise<boolean> {
    const result = await this.users.update(
      {
        id: p.userId,
        avatarStatus: 'pending',
        avatarResubmitted: false,
        avatarPendingUrl: p.url,
        avatarTraceId: p.traceId ?? IsNull(),
      },
      { avatarResubmitted: true, avatarSubmittedAt: this.clock.date() },
    );
    return (result.affected ?? 0) > 0;
  }

  /** After a re-submission: the new trace id, unless the avatar was settled or replaced meanwhile. */
  async replaceTrace(p: PendingAvatar, traceId: string): Promise<boolean> {
    const result = await this.users.update(
      { id: p.userId, avatarStatus: 'pending', avatarPendingUrl: p.url },
      { avatarTraceId: traceId },
    );
    return (result.affected ?? 0) > 0;
  }
}

const NO_PENDING = {
  avatarPendingUrl: null,
  avatarCheckAppid: null,
  avatarTraceId: null,
  avatarSubmittedAt: null,
  avatarResubmitted: false,
} satisfies Partial<User>;
