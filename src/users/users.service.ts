import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { SecretBox } from '../common/crypto/secret-box';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { isDeadlock, isLockTimeout, isUniqueViolation } from '../database/db-errors';
import { TransactionRunner } from '../database/transaction-runner';
import type { IdentityKind } from './identity-kind';
import { IdentityGraph, IdentityVanished, sessionKeyAad } from './identity-graph';
import { UnionidOwner } from './unionid.entity';
import { assertMayAct, userGone } from './user-access';
import { UserReadCache } from './user-read-cache';
import { UserRows } from './user-rows';
import { User } from './user.entity';
import { WechatIdentity } from './wechat-identity.entity';

export interface WechatSession {
  /** The door (default `miniprogram`); stored when the identity is created. */
  kind?: IdentityKind;
  appid: string;
  openid: string;
  unionid?: string;
  /** Absent for a channel without a WeChat session: a stored key is then left as it is. */
  sessionKey?: string;
  /** From doors that return one: fills a new user's nickname and avatar (never overwrites). */
  profile?: { nickname?: string; avatarUrl?: string };
}

export interface ResolveOptions {
  /**
   * A redeemed link ticket's user: a new identity joins this user instead of the unionid's or a new one.
   * An identity (or unionid) that already belongs to another user → 409 IDENTITY_ALREADY_LINKED.
   */
  linkToUserId?: string;
}

/** One row of `GET /users/me/identities`: never the openid or unionid values. */
export interface IdentitySummary {
  id: string;
  kind: IdentityKind;
  appid: string;
  createdAt: Date;
  lastLoginAt: Date | null;
  hasUnionid: boolean;
}

export interface ResolvedUser {
  /** The user to sign in: after a merge, the survivor. */
  user: User;
  isNew: boolean;
  /**
   * Set when this login merged users (see `UsersService.resolveIdentity`): every id that no longer exists.
   * Their refresh tokens already fail (the user is missing); the caller ends their sessions.
   */
  mergedUserIds?: string[];
}

export interface PhoneNumber {
  /** WeChat's `purePhoneNumber`: the national number, digits only. */
  purePhoneNumber: string;
  /** WeChat's `countryCode`, e.g. `86` (a leading `+` is accepted and dropped). */
  countryCode: string;
}

export interface IdentityInfo {
  openid: string;
  unionid: string | null;
  /** Decrypted; server-side use only, never returned by the API. */
  sessionKey: string | null;
  sessionKeyUpdatedAt: Date | null;
}

/** `undefined` leaves a field as it is, `null` clears it. Values are validated by UpdateProfileRequest. */
export interface ProfilePatch {
  nickname?: string | null;
  avatarUrl?: string | null;
}

/** Deadlocks are retried this many times per login, then the login answers 503 DATABASE_UNAVAILABLE. */
const MAX_DEADLOCK_RETRIES = 5;
/**
 * A unique violation on (appid, openid) means the winner's row is committed, so the re-read finds it and the
 * loop ends. This cap is never reached in practice; it only keeps a bug from becoming a hot loop.
 */
const MAX_REREADS = 20;

const PURE_PHONE_NUMBER = /^\d{4,20}$/;
const COUNTRY_CODE = /^\+?(\d{1,4})$/;

@Injectable()
export class UsersService {
  private readonly graph: IdentityGraph;
  private readonly rows: UserRows;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(WechatIdentity) private readonly identities: Repository<WechatIdentity>,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly sessionKeys: SecretBox,
    private readonly readCache: UserReadCache,
  ) {
    this.rows = new UserRows(users.manager.connection);
    this.graph = new IdentityGraph(tx, clock, random, sessionKeys, this.rows);
  }

  /**
   * (appid, openid) → identity → user. A new identity whose unionid is already known joins that user;
   * otherwise a new user is created (or, with `opts.linkToUserId`, the identity joins that user). Auto-linking
   * is by unionid only — never by nickname, phone or anything a person types.
   *
   * Race-safe: the unique index on (appid, openid) decides between concurrent first logins of one identity,
   * the primary key of `unionids` between concurrent first logins of one person through different doors (the
   * loser's insert fails, it re-reads and joins the winner); a loser always re-reads the winner (after a
   * unique violation the row exists). Deadlocks (InnoDB's answer to two
   * logins of one person racing on the unionid) are retried up to MAX_DEADLOCK_RETRIES times, then answered
   * with 503 DATABASE_UNAVAILABLE, like a lock wait timeout: never a 500.
   *
   * A unionid that a returning identity starts sending (its mini program was bound to an Open Platform
   * account later) is stored; if another user already holds it, the two users become one — merge rules:
   * - the OLDER user survives (earliest `created_at`; on a tie the smaller id) and keeps its id and
   *   `created_at`; every identity of the other user moves to it;
   * - phone (number and country code together): the survivor keeps its own, else takes the other's;
   * - nickname and avatar, each on its own: the survivor's, else the other's;
   * - roles: the union; status: disabled if either was disabled (and the login is then refused);
   * - the other user's row is deleted. Its refresh tokens stop working by themselves (the token service
   *   refuses a missing user, /users/me answers 401); the caller ends every merged-away user's sessions
   *   (rows deleted, access tokens revoked) through SessionService.end;
   * - one transaction; on MySQL/MariaDB both users are locked in id order, on SQLite transactions are
   *   serialized by TransactionRunner. Logged with user ids only. The result names the merged-away id.
   * A merge also repairs older data in which several users hold one unionid: all of them become one.
   * No two users are left holding one unionid.
   */
  async resolveIdentity(session: WechatSession, opts: ResolveOptions = {}): Promise<ResolvedUser> {
    let deadlocks = 0;
    let rereads = 0;
    for (;;) {
      try {
        // With its user: most logins are a returning identity with nothing to decide, answered from this
        // read and two single updates (IdentityGraph.returningPlain).
        const existing = await this.rows.identityWithUser(session.appid, session.openid);
        const resolved = !existing
          ? await this.graph.create(session, opts)
          : existing.user && IdentityGraph.isPlainReturn(existing, session, opts)
            ? await this.graph.returningPlain(existing, existing.user, session)
            : await this.graph.returning(existing.id, session, opts);
        // The login wrote the user (last login, a merge): /users/me must not answer the copy from before.
        this.readCache.invalidate(resolved.user.id, ...(resolved.mergedUserIds ?? []));
        return resolved;
      } catch (e) {
        if (e instanceof IdentityVanished || isUniqueViolation(e)) {
          if (++rereads <= MAX_REREADS) continue;
        } else if (isDeadlock(e)) {
          if (++deadlocks <= MAX_DEADLOCK_RETRIES) {
            // Full jitter: ten logins of one person racing on one unionid would otherwise collide again
            // in lockstep and spend the whole budget (seen on MariaDB: 2 × 503 in 10).
            await this.clock.sleep(Math.floor(this.random.fraction() * Math.min(200, 10 * 2 ** deadlocks)));
            continue;
          }
        } else if (!isLockTimeout(e)) {
          throw e;
        }
        throw new AppException('DATABASE_UNAVAILABLE', { retryAfter: 1, cause: e });
      }
    }
  }

  /**
   * Whether (appid, openid) is known already: a cheap read before `resolveIdentity`, so a sign-up can be
   * refused (the risk check) before any row is written. Two concurrent first logins may both see false.
   */
  async identityExists(appid: string, openid: string): Promise<boolean> {
    const row = await this.identities.findOne({ select: { id: true }, where: { appid, openid } });
    return row !== null;
  }

  /** Stores WeChat's latest risk rank on the identity (no-op when it does not exist). */
  async recordRiskRank(appid: string, openid: string, rank: number): Promise<void> {
    await this.identities.update({ appid, openid }, { riskRank: rank, riskRankedAt: this.clock.date() });
  }

  findById(id: string): Promise<User | null> {
    return this.rows.userById(id);
  }

  /**
   * The user for `GET /users/me`: possibly this instance's copy, at most USER_CACHE_TTL_MS old (see
   * UserReadCache). Anything that decides (tokens, writes) uses `findById`.
   */
  findForDisplay(id: string): Promise<User | null> {
    return this.readCache.get(id, () => this.findById(id));
  }

  /** The decrypted session_key of an identity, for server-side use only (never returned by the API). */
  async sessionKeyOf(appid: string, openid: string): Promise<string | null> {
    const row = await this.identities
      .createQueryBuilder('i')
      .addSelect('i.sessionKeyEnc')
      .where('i.appid = :appid AND i.openid = :openid', { appid, openid })
      .getOne();
    return row ? this.openSessionKey(row) : null;
  }

  /**
   * The user's identity in one mini program, with its decrypted session_key (server-side use only). One
   * person has one openid per appid; should a merge of older data have left two, the freshest key wins.
   */
  async identityOf(userId: string, appid: string): Promise<IdentityInfo | null> {
    const row = await this.identities
      .createQueryBuilder('i')
      .addSelect('i.sessionKeyEnc')
      .where('i.userId = :userId AND i.appid = :appid', { userId, appid })
      .orderBy('i.updatedAt', 'DESC')
      .addOrderBy('i.id', 'ASC')
      .getOne();
    if (!row) return null;
    return {
      openid: row.openid,
      unionid: row.unionid,
      sessionKey: this.openSessionKey(row),
      sessionKeyUpdatedAt: row.sessionKeyUpdatedAt ?? null,
    };
  }

  /** The user's identities, oldest first, without their WeChat ids. */
  async listIdentities(userId: string): Promise<IdentitySummary[]> {
    const rows = await this.identities.find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      appid: row.appid,
      createdAt: row.createdAt,
      lastLoginAt: row.lastLoginAt ?? null,
      hasUnionid: row.unionid !== null,
    }));
  }

  /**
   * Unlinks one of the user's identities: another user's (or an unknown) id → 404 NOT_FOUND, the only one
   * left → 409 LAST_IDENTITY (an account nobody could log in to). The user's identities are locked together,
   * so two removals at once cannot each leave the other's last one. A unionid no remaining identity of the
   * user carries is released: that WeChat account's next login starts a new user. Sessions already issued
   * stay (log out or end them through /auth/sessions).
   */
  async removeIdentity(userId: string, identityId: string): Promise<void> {
    try {
      await this.tx.run(async (em) => {
        const mine = await em.find(WechatIdentity, {
          where: { userId },
          order: { id: 'ASC' },
          lock: this.tx.writeLock,
        });
        const target = mine.find((i) => i.id === identityId);
        if (!target) throw new AppException('NOT_FOUND');
        if (mine.length === 1) throw new AppException('LAST_IDENTITY');
        await em.delete(WechatIdentity, { id: target.id, userId });
        const { unionid } = target;
        if (unionid && !mine.some((i) => i.id !== target.id && i.unionid === unionid))
          await em.delete(UnionidOwner, { unionid, userId });
      });
    } catch (e) {
      if (isDeadlock(e) || isLockTimeout(e))
        throw new AppException('DATABASE_UNAVAILABLE', { retryAfter: 1, cause: e });
      throw e;
    }
  }

  /**
   * Binds WeChat's phone number to the user, replacing any number they had. One number belongs to one
   * user: bound to another → 409 PHONE_IN_USE, decided by the unique index (phone_country_code, phone) so
   * two users binding one number at once cannot both win. The same number again is a no-op success.
   * A missing user → 401 UNAUTHORIZED, a disabled one → 403 USER_DISABLED.
   */
  async bindPhone(userId: string, phone: PhoneNumber): Promise<User> {
    const countryCode = COUNTRY_CODE.exec(phone.countryCode)?.[1];
    if (!countryCode || !PURE_PHONE_NUMBER.test(phone.purePhoneNumber)) {
      // WeChat sent something that is not a phone number: never store it.
      throw new AppException('VALIDATION_FAILED', { details: ['phone number has an unexpected format'] });
    }
    const user = await this.findById(userId);
    assertMayAct(user);
    if (user.phone === phone.purePhoneNumber && user.phoneCountryCode === countryCode) return user;
    try {
      await this.users.update(
        { id: userId },
        { phone: phone.purePhoneNumber, phoneCountryCode: countryCode, updatedAt: this.clock.date() },
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppException('PHONE_IN_USE');
      if (isDeadlock(e) || isLockTimeout(e))
        throw new AppException('DATABASE_UNAVAILABLE', { retryAfter: 1, cause: e });
      throw e;
    }
    this.readCache.invalidate(userId);
    const updated = await this.findById(userId);
    if (!updated) throw userGone();
    return updated;
  }

  /** Applies a validated profile change; `null` when the user no longer exists. */
  async updateProfile(userId: string, patch: ProfilePatch): Promise<User | null> {
    const changes: Partial<User> = {};
    if (patch.nickname !== undefined) changes.nickname = patch.nickname;
    if (patch.avatarUrl !== undefined) changes.avatarUrl = patch.avatarUrl;
    if (Object.keys(changes).length > 0) {
      await this.users.update({ id: userId }, { ...changes, updatedAt: this.clock.date() });
      this.readCache.invalidate(userId);
    }
    return this.findById(userId);
  }

  private openSessionKey(row: WechatIdentity): string | null {
    return row.sessionKeyEnc
      ? this.sessionKeys.open(row.sessionKeyEnc, sessionKeyAad(row.appid, row.openid))
      : null;
  }
}

export { userGone } from './user-access';
