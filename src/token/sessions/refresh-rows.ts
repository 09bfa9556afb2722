import type { DataSource, EntityManager } from 'typeorm';
import { EntitySql, runStatement } from '../../database/entity-sql';
import { RefreshToken } from '../refresh-token.entity';

/**
 * The statements of every login and refresh on `refresh_tokens`, written once (EntitySql). Single
 * statements: the caller passes the manager TransactionRunner gives it (`single` / `retrying`).
 */
export class RefreshRows {
  private readonly t: EntitySql<RefreshToken>;
  private readonly sql: { byHash: string; rotate: string; remove: string; liveFamilies: string };

  constructor(private readonly dataSource: DataSource) {
    const t = (this.t = new EntitySql(dataSource, RefreshToken));
    this.sql = {
      byHash: `SELECT ${t.select('t')} FROM ${t.table} t WHERE t.${t.col('tokenHash')} = ?`,
      rotate:
        `UPDATE ${t.table} SET ${t.col('revokedAt')} = ?, ${t.col('replacedBy')} = ? ` +
        `WHERE ${t.col('id')} = ? AND ${t.col('revokedAt')} IS NULL`,
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

  async byHash(tokenHash: string): Promise<RefreshToken | null> {
    const { rows } = await runStatement(this.dataSource, this.sql.byHash, [
      this.t.param('tokenHash', tokenHash),
    ]);
    return rows.length > 0 ? this.t.hydrate(rows[0]) : null;
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
