import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { SecretBox } from '../common/crypto/secret-box';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { isDeadlock, isUniqueViolation } from '../database/db-errors';
import { TransactionRunner } from '../database/transaction-runner';
import { User } from './user.entity';
import { WechatIdentity } from './wechat-identity.entity';

export interface WechatSession {
  appid: string;
  openid: string;
  unionid?: string;
  sessionKey: string;
}

export interface ResolvedUser {
  user: User;
  isNew: boolean;
}

const MAX_ATTEMPTS = 5;

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(WechatIdentity) private readonly identities: Repository<WechatIdentity>,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly sessionKeys: SecretBox,
  ) {}

  /**
   * (appid, openid) → identity → user; a new identity whose unionid is already
   * known joins that user; otherwise a new user is created. Race-safe: the
   * unique index on (appid, openid) decides, and a loser re-reads the winner.
   */
  async resolveIdentity(session: WechatSession): Promise<ResolvedUser> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.identities.findOne({
        where: { appid: session.appid, openid: session.openid },
      });
      if (existing) return this.onReturningLogin(existing, session);
      try {
        return await this.createIdentity(session);
      } catch (e) {
        // Lost the race (or was the deadlock victim of it): the next pass finds the winner's row.
        if (!(isUniqueViolation(e) || isDeadlock(e)) || attempt >= MAX_ATTEMPTS) throw e;
      }
    }
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  /** The decrypted session_key of an identity, for server-side use only (never returned by the API). */
  async sessionKeyOf(appid: string, openid: string): Promise<string | null> {
    const row = await this.identities
      .createQueryBuilder('i')
      .addSelect('i.sessionKeyEnc')
      .where('i.appid = :appid AND i.openid = :openid', { appid, openid })
      .getOne();
    return row ? this.sessionKeys.open(row.sessionKeyEnc, aad(appid, openid)) : null;
  }

  private async createIdentity(session: WechatSession): Promise<ResolvedUser> {
    const now = this.clock.date();
    const created = await this.tx.run(async (em) => {
      const linked = session.unionid
        ? await em.findOne(WechatIdentity, {
            where: { unionid: session.unionid },
            order: { createdAt: 'ASC' },
            // On InnoDB this locks the unionid range (gap lock): two first logins of one person from two
            // apps cannot both miss each other; one deadlocks and its retry links to the other's user.
            lock: this.tx.writeLock,
          })
        : null;
      let id = linked?.userId;
      if (!id) {
        id = this.random.uuid();
        await em.insert(User, {
          id,
          nickname: null,
          avatarUrl: null,
          phone: null,
          roles: ['user'],
          status: 'active',
          createdAt: now,
          updatedAt: now,
          lastLoginAt: now,
        });
      } else {
        await em.update(User, { id }, { lastLoginAt: now, updatedAt: now });
      }
      await em.insert(WechatIdentity, {
        id: this.random.uuid(),
        appid: session.appid,
        openid: session.openid,
        unionid: session.unionid ?? null,
        userId: id,
        sessionKeyEnc: this.sessionKeys.seal(session.sessionKey, aad(session.appid, session.openid)),
        createdAt: now,
        updatedAt: now,
      });
      return { id, isNew: !linked };
    });
    return { user: await this.activeUser(created.id), isNew: created.isNew };
  }

  private async onReturningLogin(identity: WechatIdentity, session: WechatSession): Promise<ResolvedUser> {
    const now = this.clock.date();
    await this.tx.run(async (em) => {
      // WeChat may rotate session_key on every wx.login: keep only the newest.
      await em.update(
        WechatIdentity,
        { id: identity.id },
        {
          sessionKeyEnc: this.sessionKeys.seal(session.sessionKey, aad(session.appid, session.openid)),
          // A mini program bound to an Open Platform account later starts sending unionid.
          ...(session.unionid && !identity.unionid ? { unionid: session.unionid } : {}),
          updatedAt: now,
        },
      );
      await em.update(User, { id: identity.userId }, { lastLoginAt: now, updatedAt: now });
    });
    return { user: await this.activeUser(identity.userId), isNew: false };
  }

  private async activeUser(id: string): Promise<User> {
    const user = await this.users.findOneOrFail({ where: { id } });
    if (user.status !== 'active') throw new AppException('USER_DISABLED');
    return user;
  }
}

function aad(appid: string, openid: string): string {
  return `${appid}\n${openid}`;
}
