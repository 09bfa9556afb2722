import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Clock } from '../common/clock/clock';
import type { SecretBox } from '../common/crypto/secret-box';
import { AppException } from '../common/errors/app.exception';
import type { Random } from '../common/random/random';
import type { TransactionRunner } from '../database/transaction-runner';
import { UnionidOwner } from './unionid.entity';
import { assertMayAct } from './user-access';
import { UNCHECKED_PROFILE, User } from './user.entity';
import type { UserRows } from './user-rows';
import type { ResolveOptions, ResolvedUser, WechatSession } from './users.service';
import { WechatIdentity } from './wechat-identity.entity';

/** The identity read at the start of a login was deleted (its user was) before the login's transaction. */
export class IdentityVanished extends Error {}

interface Merge {
  survivorId: string;
  mergedIds: string[];
}

/**
 * The writes of the identity graph, each one transaction: a first login (`create`), a returning one
 * (`returning`), link tickets, late unionids and merges. The rules and the race-safety argument are at
 * `UsersService.resolveIdentity`, which retries these on unique violations and deadlocks. Not injectable:
 * UsersService builds it from its own collaborators.
 */
export class IdentityGraph {
  private readonly logger = new Logger('UsersService');

  constructor(
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly sessionKeys: SecretBox,
    private readonly rows: UserRows,
  ) {}

  /** A first login of (appid, openid): a new identity, joined to its unionid's user or to a new one. */
  async create(session: WechatSession, opts: ResolveOptions): Promise<ResolvedUser> {
    const now = this.clock.date();
    const result = await this.tx.run(async (em): Promise<{ user: User; isNew: boolean; merge?: Merge }> => {
      if (opts.linkToUserId) return this.attachToUser(em, session, opts.linkToUserId, now);
      const { unionid } = session;
      // A plain read (no lock: a locking read of a missing key takes a gap lock, and two such logins would
      // deadlock on their inserts). Missing: the insert below decides; present: locked, then joined.
      const seen = unionid ? await em.findOne(UnionidOwner, { where: { unionid } }) : null;
      if (unionid && seen) {
        const owner = await em.findOne(UnionidOwner, { where: { unionid }, lock: this.tx.writeLock });
        // Moved or deleted between the two reads (a merge, an account deletion): start over.
        if (!owner) throw new IdentityVanished();
        await this.insertIdentity(em, session, owner.userId, now);
        const merge = await this.mergeOtherHolders(em, unionid, owner.userId, now);
        return { user: await this.touch(em, merge?.survivorId ?? owner.userId, now), isNew: false, merge };
      }
      const freshId = this.random.uuid();
      const fresh: User = {
        id: freshId,
        nickname: fits(session.profile?.nickname, 64),
        avatarUrl: fits(session.profile?.avatarUrl, 512),
        phone: null,
        phoneCountryCode: null,
        roles: ['user'],
        status: 'active',
        createdAt: now,
        updatedAt: now,
        lastLoginAt: now,
        ...UNCHECKED_PROFILE,
      };
      await this.rows.insertUser(em, fresh);
      // First, before any other index is touched: the unique (appid, openid) index decides between
      // concurrent first logins of one openid. A loser waits for the winner's commit, then fails with a
      // unique violation and re-reads; as it holds no lock the winner needs, it cannot deadlock it.
      const identityId = await this.insertIdentity(em, session, freshId, now);
      if (unionid) {
        // The primary key decides between first logins of one person through different doors at once.
        await em.insert(UnionidOwner, { unionid, userId: freshId, createdAt: now });
        const linked = await this.linkLegacyHolders(em, unionid, identityId, freshId, now);
        if (linked) return { ...linked, isNew: false };
      }
      // The row as inserted, not read back (one statement fewer per sign-up): nothing else can have
      // changed a user nobody knows the id of yet. Its timestamps keep their milliseconds here only.
      return { user: fresh, isNew: true };
    });
    return this.signIn(result.user, result.isNew, result.merge);
  }

  /** A link ticket's new identity: joins the ticket's user, unless its unionid belongs to someone else. */
  private async attachToUser(
    em: EntityManager,
    session: WechatSession,
    userId: string,
    now: Date,
  ): Promise<{ user: User; isNew: boolean }> {
    const target = await em.findOne(User, { where: { id: userId }, lock: this.tx.writeLock });
    // The ticket's user was deleted (or merged away) since the ticket was issued.
    if (!target) throw new AppException('LINK_TICKET_INVALID');
    const { unionid } = session;
    const seen = unionid ? await em.findOne(UnionidOwner, { where: { unionid } }) : null;
    if (seen && seen.userId !== userId) throw new AppException('IDENTITY_ALREADY_LINKED');
    if (unionid && !seen) {
      const legacy = await em.find(WechatIdentity, {
        where: { unionid },
        select: { id: true, userId: true },
      });
      if (legacy.some((i) => i.userId !== userId)) throw new AppException('IDENTITY_ALREADY_LINKED');
    }
    await this.insertIdentity(em, session, userId, now);
    if (unionid && !seen) await em.insert(UnionidOwner, { unionid, userId, createdAt: now });
    return { user: await this.touch(em, userId, now), isNew: false };
  }

  private async insertIdentity(
    em: EntityManager,
    session: WechatSession,
    userId: string,
    now: Date,
  ): Promise<string> {
    const id = this.random.uuid();
    await this.rows.insertIdentity(em, {
      id,
      kind: session.kind ?? 'miniprogram',
      appid: session.appid,
      openid: session.openid,
      unionid: session.unionid ?? null,
      userId,
      ...this.sealedSessionKey(session, now),
      createdAt: now,
      updatedAt: now,
      lastLoginAt: now,
    });
    return id;
  }

  /**
   * Identities stored before `unionids` existed (or by a bug) may hold this unionid under other users: the
   * new identity joins the oldest such identity's user, its placeholder user goes, and all become one.
   * Returns null when nobody else holds the unionid (the common case: one non-locking read).
   */
  private async linkLegacyHolders(
    em: EntityManager,
    unionid: string,
    identityId: string,
    freshId: string,
    now: Date,
  ): Promise<{ user: User; merge: Merge | undefined } | null> {
    const other = (
      await em.find(WechatIdentity, {
        where: { unionid },
        order: { createdAt: 'ASC', id: 'ASC' },
        select: { id: true, userId: true, createdAt: true },
      })
    ).find((h) => h.userId !== freshId);
    if (!other) return null;
    await em.update(WechatIdentity, { id: identityId }, { userId: other.userId });
    // The unionid moves before the placeholder goes (its row would go with it).
    await em.update(UnionidOwner, { unionid }, { userId: other.userId });
    await em.delete(User, { id: freshId });
    const merge = await this.consolidate(em, unionid, now);
    return { user: await this.touch(em, merge?.survivorId ?? other.userId, now), merge };
  }

  /** Consolidates when identities of users other than `ownerId` hold the unionid (older data). */
  private async mergeOtherHolders(
    em: EntityManager,
    unionid: string,
    ownerId: string,
    now: Date,
  ): Promise<Merge | undefined> {
    const holders = await em.find(WechatIdentity, { where: { unionid }, select: { id: true, userId: true } });
    if (holders.every((h) => h.userId === ownerId)) return undefined;
    return this.consolidate(em, unionid, now);
  }

  /** Whether a returning login has nothing for the graph to decide: no link ticket, no unionid to record. */
  static isPlainReturn(identity: WechatIdentity, session: WechatSession, opts: ResolveOptions): boolean {
    return opts.linkToUserId === undefined && !(session.unionid && !identity.unionid);
  }

  /**
   * A returning identity with nothing to decide (`isPlainReturn`) — most logins: the identity's and the
   * user's update, no transaction (one multi-table statement on MySQL/MariaDB, two single ones on SQLite).
   * The identity's update is conditional on the user it was read with, so a merge that moved it since (or a
   * deletion) makes it match nothing, and so does the user's update if that user went in between: the
   * login then starts over from a fresh read (IdentityVanished). The user's roles and status
   * are those of the read; the session's own re-read of the user, after its row is written, is the one
   * the tokens are issued from (SessionService.start).
   */
  async returningPlain(identity: WechatIdentity, user: User, session: WechatSession): Promise<ResolvedUser> {
    const now = this.clock.date();
    const sealed = this.sealedSessionKey(session, now);
    if (!(await this.tx.single((em) => this.rows.touchIdentityAndUser(em, identity.id, user.id, now, sealed))))
      throw new IdentityVanished();
    return this.signIn({ ...user, lastLoginAt: now, updatedAt: now }, false, undefined);
  }

  /** A returning identity: session_key refreshed, a late unionid claimed (and users merged when it must). */
  async returning(identityId: string, session: WechatSession, opts: ResolveOptions): Promise<ResolvedUser> {
    const now = this.clock.date();
    const { user, merge } = await this.tx.run(async (em) => {
      // Locked, inside the transaction: the current row, so a merge that has just moved this identity to
      // another user is seen, and no merge can move it until this login is done.
      // With its user in the same statement (both rows locked): the login's answer needs the user, and the
      // update below would lock its row anyway.
      const query = em
        .createQueryBuilder(WechatIdentity, 'i')
        .innerJoinAndSelect('i.user', 'u')
        .where('i.id = :identityId', { identityId });
      const identity = await (this.tx.writeLock ? query.setLock('pessimistic_write') : query).getOne();
      if (!identity?.user) throw new IdentityVanished();
      // Never says whose: only that this WeChat account is someone else's already.
      if (opts.linkToUserId && identity.userId !== opts.linkToUserId)
        throw new AppException('IDENTITY_ALREADY_LINKED');
      // A mini program bound to an Open Platform account later starts sending unionid; one already recorded
      // is never overwritten.
      const lateUnionid = session.unionid && !identity.unionid ? session.unionid : undefined;
      await em.update(
        WechatIdentity,
        { id: identity.id },
        {
          // WeChat may rotate session_key on every wx.login: keep only the newest.
          ...this.sealedSessionKey(session, now),
          ...(lateUnionid ? { unionid: lateUnionid } : {}),
          updatedAt: now,
          lastLoginAt: now,
        },
      );
      const merge = lateUnionid
        ? await this.claimLateUnionid(em, lateUnionid, identity.userId, now)
        : undefined;
      if (merge) return { user: await this.touch(em, merge.survivorId, now), merge };
      await em.update(User, { id: identity.userId }, { lastLoginAt: now, updatedAt: now });
      return { user: { ...identity.user, lastLoginAt: now, updatedAt: now }, merge };
    });
    return this.signIn(user, false, merge);
  }

  /**
   * A returning identity's first unionid: recorded for its user, or — held by another user already — the
   * two users become one (consolidate). The `unionids` insert decides between two users starting to send
   * one unionid at once: the loser's insert fails, it re-reads and merges.
   */
  private async claimLateUnionid(
    em: EntityManager,
    unionid: string,
    userId: string,
    now: Date,
  ): Promise<Merge | undefined> {
    // Plain read first (see createIdentity: a locking read of a missing key would deadlock two inserts).
    const seen = await em.findOne(UnionidOwner, { where: { unionid } });
    if (!seen) {
      await em.insert(UnionidOwner, { unionid, userId, createdAt: now });
      return this.mergeOtherHolders(em, unionid, userId, now);
    }
    const owner = await em.findOne(UnionidOwner, { where: { unionid }, lock: this.tx.writeLock });
    if (!owner) throw new IdentityVanished();
    if (owner.userId === userId) return this.mergeOtherHolders(em, unionid, userId, now);
    return this.consolidate(em, unionid, now, [owner.userId]);
  }

  /**
   * Makes every user holding `unionid` one user (rules at resolveIdentity). Call inside a transaction after
   * the unionid was written. Returns undefined when a single user holds it.
   */
  private async consolidate(
    em: EntityManager,
    unionid: string,
    now: Date,
    alsoUserIds: string[] = [],
  ): Promise<Merge | undefined> {
    const holders = await this.unionidHolders(em, unionid);
    const ids = [...new Set([...holders.map((h) => h.userId), ...alsoUserIds])].sort();
    if (ids.length < 2) return undefined;

    // One id order for every merge: two merges of the same users cannot each lock one and wait for the other.
    const users: User[] = [];
    for (const id of ids) {
      const user = await em.findOne(User, { where: { id }, lock: this.tx.writeLock });
      if (user) users.push(user);
    }
    users.sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    const [survivor, ...losers] = users;
    const merged = { ...survivor };
    // The unionid is the survivor's (its row would otherwise go with a deleted loser).
    await em.update(UnionidOwner, { unionid }, { userId: survivor.id });
    for (const loser of losers) {
      await em.update(WechatIdentity, { userId: loser.id }, { userId: survivor.id, updatedAt: now });
      // Any other unionid the loser held moves too (older data): it stays one user's.
      await em.update(UnionidOwner, { userId: loser.id }, { userId: survivor.id });
      // Deleted before the survivor takes its phone: the unique phone index never sees the number twice.
      await em.delete(User, { id: loser.id });
      if (!merged.phone && loser.phone) {
        merged.phone = loser.phone;
        merged.phoneCountryCode = loser.phoneCountryCode;
      }
      // A value taken from the loser brings its content-check flag: a `review` verdict stays for an admin.
      // (The loser's pending avatar, if any, goes with its row: docs/content-checks.md, "Limits".)
      if (merged.nickname === null && loser.nickname !== null) {
        merged.nickname = loser.nickname;
        merged.nicknameReview = loser.nicknameReview;
      }
      if (merged.avatarUrl === null && loser.avatarUrl !== null) {
        merged.avatarUrl = loser.avatarUrl;
        merged.avatarReview = loser.avatarReview;
      }
      merged.roles = [...new Set([...merged.roles, ...loser.roles])];
      if (loser.status === 'disabled') merged.status = 'disabled';
    }
    await em.update(
      User,
      { id: survivor.id },
      {
        phone: merged.phone,
        phoneCountryCode: merged.phoneCountryCode,
        nickname: merged.nickname,
        nicknameReview: merged.nicknameReview,
        avatarUrl: merged.avatarUrl,
        avatarReview: merged.avatarReview,
        roles: merged.roles,
        status: merged.status,
        updatedAt: now,
      },
    );
    return { survivorId: survivor.id, mergedIds: losers.map((l) => l.id) };
  }

  /** Every identity with this unionid, locked where the engine has row locks. */
  private unionidHolders(em: EntityManager, unionid: string): Promise<WechatIdentity[]> {
    return em.find(WechatIdentity, {
      where: { unionid },
      order: { createdAt: 'ASC', id: 'ASC' },
      lock: this.tx.writeLock,
    });
  }

  /** Records the login on the user and reads it back, inside the login's transaction. */
  private async touch(em: EntityManager, userId: string, now: Date): Promise<User> {
    await em.update(User, { id: userId }, { lastLoginAt: now, updatedAt: now });
    return em.findOneOrFail(User, { where: { id: userId } });
  }

  private signIn(user: User, isNew: boolean, merge: Merge | undefined): ResolvedUser {
    if (merge) {
      // Ids only: which accounts became one is what an operator needs; who the person is stays out of logs.
      this.logger.log(
        `merged user(s) ${merge.mergedIds.join(', ')} into ${merge.survivorId} (shared unionid)`,
      );
    }
    assertMayAct(user);
    return { user, isNew, ...(merge ? { mergedUserIds: merge.mergedIds } : {}) };
  }

  private sealedSessionKey(
    session: WechatSession,
    now: Date,
  ): Pick<WechatIdentity, 'sessionKeyEnc' | 'sessionKeyUpdatedAt'> | Record<string, never> {
    if (session.sessionKey === undefined) return {};
    return {
      sessionKeyEnc: this.sessionKeys.seal(session.sessionKey, sessionKeyAad(session.appid, session.openid)),
      sessionKeyUpdatedAt: now,
    };
  }
}

/** A profile value from WeChat, if it fits its column; otherwise nothing (never a truncated URL). */
function fits(value: string | undefined, max: number): string | null {
  return value && value.length <= max ? value : null;
}

/** The AAD of a sealed session_key: a ciphertext copied to another identity's row does not open. */
export function sessionKeyAad(appid: string, openid: string): string {
  return `${appid}\n${openid}`;
}
