import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DataSource, LessThan, MoreThan } from 'typeorm';
import type { DurableEntries } from '../../common/store/replicated-map';
import { TransactionRunner } from '../../database/transaction-runner';
import { RevocationRow } from './revocation.entity';
import type { Revocation } from './revocation';

/**
 * The durable home of revocations (`revocations` table): written before Redis, read by every instance at
 * start and after each reconnection. What makes an acknowledged revocation hold on instances started later,
 * after Redis restarted empty, and after the instance that made it stopped before it could publish it.
 */
@Injectable()
export class RevocationArchive implements DurableEntries<Revocation> {
  private readonly mysql: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
  ) {
    const type = dataSource.options.type;
    this.mysql = type === 'mysql' || type === 'mariadb';
  }

  /** One statement that only tightens: a late or repeated save never lowers an epoch or an expiry. */
  async save(r: Revocation): Promise<void> {
    const params = [r.kind, r.id, r.validAfter, r.until];
    const sql = this.mysql
      ? 'INSERT INTO `revocations` (`kind`, `subject_id`, `valid_after`, `expires_at`) VALUES (?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE `valid_after` = GREATEST(`valid_after`, VALUES(`valid_after`)), ' +
        '`expires_at` = GREATEST(`expires_at`, VALUES(`expires_at`))'
      : 'INSERT INTO "revocations" ("kind", "subject_id", "valid_after", "expires_at") VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT ("kind", "subject_id") DO UPDATE SET "valid_after" = MAX("valid_after", excluded."valid_after"), ' +
        '"expires_at" = MAX("expires_at", excluded."expires_at")';
    await this.tx.retrying((em) => em.query(sql, params), 'single');
  }

  async load(now: number): Promise<Revocation[]> {
    const rows = await this.dataSource
      .getRepository(RevocationRow)
      .find({ where: { expiresAt: MoreThan(now) } });
    return rows.map((row) => ({
      kind: row.kind,
      id: row.subjectId,
      validAfter: row.validAfter,
      until: row.expiresAt,
    }));
  }

  /** The latest revocation of this user still live at `now`, if any (to publish it again). */
  async latestForUser(userId: string, now: number): Promise<Revocation | null> {
    const row = await this.dataSource
      .getRepository(RevocationRow)
      .findOne({ where: { kind: 'u', subjectId: userId, expiresAt: MoreThan(now) } });
    return row ? { kind: 'u', id: row.subjectId, validAfter: row.validAfter, until: row.expiresAt } : null;
  }

  /** Deletes the rows whose tokens have all expired; returns how many. */
  async purge(now: number): Promise<number> {
    const res = await this.tx.single((em) => em.delete(RevocationRow, { expiresAt: LessThan(now) }));
    return res.affected ?? 0;
  }
}
