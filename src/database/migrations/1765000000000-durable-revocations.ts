import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { DEFAULT_COLLATION } from '../collation';

/**
 * `revocations`: the durable copy of every live revocation (src/token/revocation/revocation.entity.ts), so one
 * that was acknowledged holds on instances started later and after Redis restarted empty. Plus an index on
 * `refresh_tokens.expires_at` for the purge of expired refresh-token rows.
 */
export class DurableRevocations1765000000000 implements MigrationInterface {
  name = 'DurableRevocations1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'revocations',
        columns: [
          { name: 'kind', type: 'varchar', length: '1', isPrimary: true },
          { name: 'subject_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'valid_after', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'ix_revocations_expires_at', columnNames: ['expires_at'] })],
      }),
    );
    await q.createIndex(
      'refresh_tokens',
      new TableIndex({ name: 'ix_refresh_tokens_expires_at', columnNames: ['expires_at'] }),
    );
    if (isMysqlFamily(q)) {
      // The database's default charset may not be utf8mb4 (see the initial migration).
      await q.query(
        `ALTER TABLE \`revocations\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${DEFAULT_COLLATION}`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('refresh_tokens', 'ix_refresh_tokens_expires_at');
    await q.dropTable('revocations');
  }
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
