import type { DataSource, EntityManager } from 'typeorm';
import { EntitySql, runStatement } from '../database/entity-sql';
import { User } from './user.entity';
import { WechatIdentity } from './wechat-identity.entity';

/**
 * The statements every login runs on users and identities, written once (EntitySql: TypeORM's metadata and
 * conversions, without its query builder on the hot path). Reads and single statements go to a pooled
 * connection; `em` puts a statement inside the caller's transaction.
 */
export class UserRows {
  private readonly user: EntitySql<User>;
  private readonly identity: EntitySql<WechatIdentity>;
  private readonly sql: {
    identityWithUser: string;
    userById: string;
    touchIdentity: string;
    touchIdentityKeepKey: string;
    touchUser: string;
    /** MySQL/MariaDB only (a multi-table UPDATE): the identity and its user in one statement. */
    touchBoth?: string;
    touchBothKeepKey?: string;
  };

  constructor(private readonly dataSource: DataSource) {
    const u = (this.user = new EntitySql(dataSource, User));
    const i = (this.identity = new EntitySql(dataSource, WechatIdentity));
    const set = (...props: (keyof WechatIdentity & string)[]) =>
      props.map((p) => `${i.col(p)} = ?`).join(', ');
    this.sql = {
      identityWithUser:
        `SELECT ${i.select('i', 'i_')}, ${u.select('u', 'u_')} FROM ${i.table} i ` +
        `LEFT JOIN ${u.table} u ON u.${u.col('id')} = i.${i.col('userId')} ` +
        `WHERE i.${i.col('appid')} = ? AND i.${i.col('openid')} = ?`,
      userById: `SELECT ${u.select('u')} FROM ${u.table} u WHERE u.${u.col('id')} = ?`,
      touchIdentity:
        `UPDATE ${i.table} SET ${set('sessionKeyEnc', 'sessionKeyUpdatedAt', 'updatedAt', 'lastLoginAt')} ` +
        `WHERE ${i.col('id')} = ? AND ${i.col('userId')} = ?`,
      touchIdentityKeepKey:
        `UPDATE ${i.table} SET ${set('updatedAt', 'lastLoginAt')} ` +
        `WHERE ${i.col('id')} = ? AND ${i.col('userId')} = ?`,
      touchUser:
        `UPDATE ${u.table} SET ${u.col('lastLoginAt')} = ?, ${u.col('updatedAt')} = ? ` +
        `WHERE ${u.col('id')} = ?`,
    };
    if (['mysql', 'mariadb'].includes(dataSource.options.type)) {
      const both = (...props: (keyof WechatIdentity & string)[]) =>
        `UPDATE ${i.table} i JOIN ${u.table} u ON u.${u.col('id')} = i.${i.col('userId')} ` +
        `SET ${props.map((p) => `i.${i.col(p)} = ?`).join(', ')}, ` +
        `u.${u.col('lastLoginAt')} = ?, u.${u.col('updatedAt')} = ? ` +
        `WHERE i.${i.col('id')} = ? AND i.${i.col('userId')} = ?`;
      this.sql.touchBoth = both('sessionKeyEnc', 'sessionKeyUpdatedAt', 'updatedAt', 'lastLoginAt');
      this.sql.touchBothKeepKey = both('updatedAt', 'lastLoginAt');
    }
  }

  /** The identity of (appid, openid) with its user (absent if the user row is gone), or null. */
  async identityWithUser(appid: string, openid: string): Promise<WechatIdentity | null> {
    const i = this.identity;
    const { rows } = await runStatement(this.dataSource, this.sql.identityWithUser, [
      i.param('appid', appid),
      i.param('openid', openid),
    ]);
    if (rows.length === 0) return null;
    const identity = i.hydrate(rows[0], 'i_');
    if (rows[0].u_id !== null && rows[0].u_id !== undefined) identity.user = this.user.hydrate(rows[0], 'u_');
    return identity;
  }

  async userById(id: string): Promise<User | null> {
    const { rows } = await runStatement(this.dataSource, this.sql.userById, [this.user.param('id', id)]);
    return rows.length > 0 ? this.user.hydrate(rows[0]) : null;
  }

  async insertUser(em: EntityManager, user: User): Promise<void> {
    const { sql, params } = this.user.insert(user);
    await runStatement(em, sql, params);
  }

  async insertIdentity(em: EntityManager, identity: Partial<WechatIdentity>): Promise<void> {
    const { sql, params } = this.identity.insert(identity);
    await runStatement(em, sql, params);
  }

  /**
   * A returning login on an identity that must still belong to `userId`: its session_key (when WeChat sent
   * one) and login time, and its user's last login. One statement where the database has a multi-table
   * UPDATE (MySQL/MariaDB: both rows or neither), else the two in turn. Whether both matched.
   */
  async touchIdentityAndUser(
    em: EntityManager,
    id: string,
    userId: string,
    now: Date,
    sealed: Partial<Pick<WechatIdentity, 'sessionKeyEnc' | 'sessionKeyUpdatedAt'>>,
  ): Promise<boolean> {
    const i = this.identity;
    const withKey = sealed.sessionKeyEnc !== undefined;
    const set = [
      ...(withKey
        ? [i.param('sessionKeyEnc', sealed.sessionKeyEnc), i.param('sessionKeyUpdatedAt', sealed.sessionKeyUpdatedAt)]
        : []),
      i.param('updatedAt', now),
      i.param('lastLoginAt', now),
    ];
    const where = [i.param('id', id), i.param('userId', userId)];
    const both = withKey ? this.sql.touchBoth : this.sql.touchBothKeepKey;
    if (both) {
      const u = this.user;
      const userSet = [u.param('lastLoginAt', now), u.param('updatedAt', now)];
      // Rows matched in both tables (the driver counts found rows): 2, or 0 when the identity moved or went.
      return (await runStatement(em, both, [...set, ...userSet, ...where])).affected === 2;
    }
    const identity = withKey ? this.sql.touchIdentity : this.sql.touchIdentityKeepKey;
    if ((await runStatement(em, identity, [...set, ...where])).affected !== 1) return false;
    return this.touchUser(em, userId, now);
  }

  /** The user's last login; whether the user still exists. */
  private async touchUser(em: EntityManager, id: string, now: Date): Promise<boolean> {
    const u = this.user;
    const { affected } = await runStatement(em, this.sql.touchUser, [
      u.param('lastLoginAt', now),
      u.param('updatedAt', now),
      u.param('id', id),
    ]);
    return affected === 1;
  }
}
