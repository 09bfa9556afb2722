import type { DataSource, EntityManager } from 'typeorm';
import { EntitySql, runStatement } from '../../database/entity-sql';
import { User } from '../../users/user.entity';
import { RefreshToken } from '../refresh-token.entity';

/**
 * The statements of every login and refresh on `refresh_tokens`, written once (EntitySql). Single
 * statements: the caller passes the manager TransactionRunner gives it (`single` / `retrying`).
 */
export class RefreshRows {
  private readonly t: EntitySql<RefreshToken>;
  private readonly u: EntitySql<User>;
  private readonly sql: {
    byHash: string;
    byHashWithUser: string;
    rotate: string;
    rotateForUser: string;
    userAsRead: string;
    remove: string;
    liveFamilies: string;
  };

  constructor(private readonly dataSource: DataSource) {
    const t = (this.t = new EntitySql(dataSource, RefreshToken));
    const u = (this.u = new EntitySql(dataSource, User));
    const rotate =
      `UPDATE ${t.table} SET ${t.col('revokedAt')} = ?, ${t.col('replacedBy')} = ? ` +
      `WHERE ${t.col('id')} = ? AND ${t.col('revokedAt')} IS NULL`;
    this.sql = {
      byHash: `SELECT ${t.select('t')} FROM ${t.table} t WHERE t.${t.col('tokenHash')} = ?`,
      byHashWithUser:
        `SELECT ${t.select('t', 't_')}, ${u.select('u', 'u_')} FROM ${t.table} t ` +
        `LEFT JOIN ${u.table} u ON u.${u.col('id')} = t.${t.col('userId')} WHERE t.${t.col('tokenHash')} = ?`,
      rotate,
      rotateForUser:
        `${rotate} AND EXISTS (SELECT 1 FROM ${u.table} u WHERE u.${u.col('id')} = ? ` +
        `AND u.${u.col('status')} = ? AND u.${u.col('roles')} = ?)`,
      userAsRead: `FROM ${u.table} u WHERE u.${u.col('id')} = ? AND u.${u.col('status')} = ? AND u.${u.col('roles')} = ?`,
      remove: `DELETE FROM ${t.table} WHERE ${t.col('id')} = ?`,
      liveFamilies:
        `SELECT DISTINCT t.${t.col('familyId')} AS familyId FROM ${t.table} t ` +
        `WHERE t.${t.col('userId')} = ? AND t.${t.col('revokedAt')} IS NULL AND t.${t.col('expiresAt')} > ?`,
    };
  }

  async insert(em: EntityManager, row: RefreshToken): Promise<void> {
    const { sql, params } = this.t.insert(row);
    await runStatement(em, sql, params);
  }

  /**
   * The row, written only while its user is active with exactly these roles (as the token about to be
   * signed carries them); whether it was written. A user changed, disabled or gone since it was read: no row.
   */
  async insertForUser(em: EntityManager, row: RefreshToken, roles: string[]): Promise<boolean> {
    const { u } = this;
    const { sql, params } = this.t.insertWhere(row, this.sql.userAsRead);
    const { affected } = await runStatement(em, sql, [
      ...params,
      u.param('id', row.userId),
      u.param('status', 'active'),
      u.param('roles', roles),
    ]);
    return affected === 1;
  }

  async byHash(tokenHash: string): Promise<RefreshToken | null> {
    const { rows } = await runStatement(this.dataSource, this.sql.byHash, [
      this.t.param('tokenHash', tokenHash),
    ]);
    return rows.length > 0 ? this.t.hydrate(rows[0]) : null;
  }

  /**
   * The row of a presented token with its user (null when the user row is gone), and the user's roles
   * exactly as stored, for `rotateForUser` to compare with.
   */
  async byHashWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null; storedRoles: unknown } | null> {
    const { rows } = await runStatement(this.dataSource, this.sql.byHashWithUser, [
      this.t.param('tokenHash', tokenHash),
    ]);
    if (rows.length === 0) return null;
    const [raw] = rows;
    const present = raw.u_id !== null && raw.u_id !== undefined;
    return {
      token: this.t.hydrate(raw, 't_'),
      user: present ? this.u.hydrate(raw, 'u_') : null,
      storedRoles: raw.u_roles,
    };
  }

  /**
   * `rotate`, only while the user is still active with exactly the roles read with the row: a role change
   * or a disable committed since makes it match nothing (and the caller reads again).
   */
  async rotateForUser(
    em: EntityManager,
    id: string,
    at: Date,
    successorId: string,
    userId: string,
    storedRoles: unknown,
  ): Promise<boolean> {
    const { t, u } = this;
    const { affected } = await runStatement(em, this.sql.rotateForUser, [
      t.param('revokedAt', at),
      t.param('replacedBy', successorId),
      t.param('id', id),
      u.param('id', userId),
      u.param('status', 'active'),
      // As read (byHashWithUser), not re-encoded: compared byte for byte with what is stored now.
      storedRoles,
    ]);
    return affected === 1;
  }

  /** Revokes the row in favour of its successor, if nobody did first; whether this call did. */
  async rotate(em: EntityManager, id: string, at: Date, successorId: string): Promise<boolean> {
    const t = this.t;
    const { affected } = await runStatement(em, this.sql.rotate, [
      t.param('revokedAt', at),
      t.param('replacedBy', successorId),
      t.param('id', id),
    ]);
    return affected === 1;
  }

  async remove(em: EntityManager, id: string): Promise<void> {
    await runStatement(em, this.sql.remove, [this.t.param('id', id)]);
  }

  /** The families of the user's live (not revoked, not expired) tokens. */
  async liveFamilies(userId: string, now: Date): Promise<string[]> {
    const t = this.t;
    const { rows } = await runStatement(this.dataSource, this.sql.liveFamilies, [
      t.param('userId', userId),
      t.param('expiresAt', now),
    ]);
    return rows.map((r) => r.familyId as string);
  }
}
