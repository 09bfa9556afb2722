import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, In, Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import type { Role } from '../common/auth/roles';
import { AppException } from '../common/errors/app.exception';
import { Keyset, type KeysetPage } from '../common/pagination/keyset';
import { UUID_PATTERN } from '../common/validation/ids';
import { TransactionRunner } from '../database/transaction-runner';
import { UserReadCache } from './user-read-cache';
import { User, type UserStatus } from './user.entity';
import { WechatIdentity } from './wechat-identity.entity';

export interface UserSearch {
  status?: UserStatus;
  /** Exact, without country code (WeChat's purePhoneNumber). */
  phone?: string;
  openid?: string;
  unionid?: string;
  /** Users with an identity whose latest risk rank is at least this (0–4). */
  riskRankMin?: number;
  /** Only users an admin should look at for WeChat's content checks (docs/content-checks.md). */
  needsReview?: boolean;
}

export interface Page {
  limit: number;
  cursor?: string;
}

export interface IdentityView {
  appid: string;
  openid: string;
  unionid: string | null;
  createdAt: Date;
  /** When WeChat last handed us a session_key (the key itself never leaves the server). */
  sessionKeyUpdatedAt: Date | null;
  hasSessionKey: boolean;
  /** WeChat's latest risk rank (0–4) and when it was asked; null when never ranked. */
  riskRank: number | null;
  riskRankedAt: Date | null;
}

/** The admin user list's pages: newest first by (created_at, id) (query alias `u`). */
const USER_KEYSET = new Keyset<User>({
  idPattern: UUID_PATTERN,
  timeColumn: 'u.createdAt',
  idColumn: 'u.id',
  positionOf: (u) => ({ t: u.createdAt.getTime(), id: u.id }),
});

/**
 * Users as operators see them: search, identities, status and roles, erasure. Kept apart from
 * UsersService (the login path) so neither grows into the other.
 */
@Injectable()
export class UserDirectory {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(WechatIdentity) private readonly identities: Repository<WechatIdentity>,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly readCache: UserReadCache,
  ) {}

  /** Newest first, keyset-paginated by (created_at, id) with an opaque cursor (common/pagination). */
  search(filter: UserSearch, page: Page): Promise<KeysetPage<User>> {
    const q = this.users.createQueryBuilder('u');
    if (filter.status) q.andWhere('u.status = :status', { status: filter.status });
    if (filter.phone) q.andWhere('u.phone = :phone', { phone: filter.phone });
    if (filter.needsReview)
      // Flagged "review" by WeChat, or an avatar still without a verdict after its one re-submission.
      q.andWhere(
        "(u.nickname_review = 1 OR u.avatar_review = 1 OR (u.avatar_status = 'pending' AND u.avatar_resubmitted = 1))",
      );
    if (filter.openid || filter.unionid) {
      const sub = this.identities
        .createQueryBuilder('i')
        .select('i.userId')
        .where(filter.openid ? 'i.openid = :openid' : '1=1', { openid: filter.openid })
        .andWhere(filter.unionid ? 'i.unionid = :unionid' : '1=1', { unionid: filter.unionid });
      q.andWhere(`u.id IN (${sub.getQuery()})`, sub.getParameters());
    }
    if (filter.riskRankMin !== undefined) {
      const sub = this.identities
        .createQueryBuilder('ri')
        .select('ri.userId')
        .where('ri.riskRank >= :riskRankMin', { riskRankMin: filter.riskRankMin });
      q.andWhere(`u.id IN (${sub.getQuery()})`, sub.getParameters());
    }
    return USER_KEYSET.page(q, page);
  }

  async identitiesOf(userId: string): Promise<IdentityView[]> {
    const rows = await this.identities
      .createQueryBuilder('i')
      .addSelect('i.sessionKeyEnc')
      .where('i.userId = :userId', { userId })
      .orderBy('i.createdAt', 'ASC')
      .getMany();
    return rows.map((r) => ({
      appid: r.appid,
      openid: r.openid,
      unionid: r.unionid,
      createdAt: r.createdAt,
      sessionKeyUpdatedAt: r.sessionKeyUpdatedAt,
      hasSessionKey: r.sessionKeyEnc !== null && r.sessionKeyEnc !== undefined,
      riskRank: r.riskRank ?? null,
      riskRankedAt: r.riskRankedAt ?? null,
    }));
  }

  /** The user, or 404 NOT_FOUND. */
  async get(userId: string): Promise<User> {
    const user = await this.users.findOne({ where: { id: userId } });
    if (!user) throw new AppException('NOT_FOUND');
    return user;
  }

  /**
   * Returns the user before the change (to tell whether anything changed). Disabling the last active admin
   * is refused (409 LAST_ADMIN).
   */
  async setStatus(userId: string, status: UserStatus): Promise<{ before: User; after: User }> {
    const before = await this.tx.retrying(async (em) => {
      const user = await this.locked(em, userId);
      if (user.status === status) return user;
      if (status !== 'active') await this.keepAnAdmin(em, user);
      await em.update(User, { id: userId }, { status, updatedAt: this.clock.date() });
      return user;
    });
    this.readCache.invalidate(userId);
    return { before, after: await this.get(userId) };
  }

  /** `user` is always kept: every account holds it. Demoting the last active admin is refused (409 LAST_ADMIN). */
  async setRoles(userId: string, roles: Role[]): Promise<{ before: User; after: User }> {
    const next = [...new Set<string>(['user', ...roles])].sort();
    const before = await this.tx.retrying(async (em) => {
      const user = await this.locked(em, userId);
      if (next.join(',') === [...user.roles].sort().join(',')) return user;
      if (!next.includes('admin')) await this.keepAnAdmin(em, user);
      await em.update(User, { id: userId }, { roles: next, updatedAt: this.clock.date() });
      return user;
    });
    this.readCache.invalidate(userId);
    return { before, after: await this.get(userId) };
  }

  /** The user, locked for the rest of the transaction (MySQL/MariaDB), or 404 NOT_FOUND. */
  private async locked(em: EntityManager, userId: string): Promise<User> {
    const user = await em.findOne(User, { where: { id: userId }, lock: this.tx.writeLock });
    if (!user) throw new AppException('NOT_FOUND');
    return user;
  }

  /**
   * Refuses (409 LAST_ADMIN) a change that would take `user` out of the active admins when no other active
   * admin remains. Race-safe: every active admin's row is locked (by primary key, in id order, so two admins
   * demoting each other at once serialize instead of both succeeding — the target's own lock comes first, so
   * two such changes may deadlock, and the victim's retry (TransactionRunner.retrying) then sees the other's
   * result) and re-read under the lock; on SQLite the transactions are serialized already. An admin granted meanwhile is not counted: a refusal then is
   * only conservative.
   */
  private async keepAnAdmin(em: EntityManager, user: User): Promise<void> {
    if (user.status !== 'active' || !user.roles.includes('admin')) return;
    const candidates = await em
      .createQueryBuilder(User, 'u')
      .select('u.id', 'id')
      .where('u.status = :active', { active: 'active' })
      .andWhere('u.roles LIKE :admin', { admin: '%admin%' })
      .andWhere('u.id <> :id', { id: user.id })
      .getRawMany<{ id: string }>();
    const ids = candidates.map((c) => c.id).sort();
    const others =
      ids.length === 0
        ? []
        : await em.find(User, { where: { id: In(ids) }, order: { id: 'ASC' }, lock: this.tx.writeLock });
    if (!others.some((u) => u.status === 'active' && u.roles.includes('admin')))
      throw new AppException('LAST_ADMIN');
  }

  /**
   * Erases the account (PIPL): the user row and, through the foreign key, its identities and sealed
   * session_keys; phone, nickname and avatar go with the row. The same WeChat user logging in afterwards
   * is a new user. Returns false when there was no such user.
   */
  async erase(userId: string): Promise<boolean> {
    const erased = await this.tx.retrying(async (em) => {
      const user = await em.findOne(User, { where: { id: userId }, lock: this.tx.writeLock });
      if (!user) return false;
      // The last active admin cannot delete itself or be deleted (409 LAST_ADMIN).
      await this.keepAnAdmin(em, user);
      await em.delete(WechatIdentity, { userId });
      const res = await em.delete(User, { id: userId });
      return (res.affected ?? 0) > 0;
    });
    this.readCache.invalidate(userId);
    return erased;
  }
}
