import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { CASE_SENSITIVE_COLLATION, DEFAULT_COLLATION } from '../collation';

/**
 * The audit trail, `auth_events` (see src/audit/auth-event.entity.ts). Append-heavy, so few indexes: each
 * serves one read the app makes (newest-first pages and the purge; a user's history and forgetUser; by type;
 * forgetUser of a former admin).
 *
 * - No foreign key to `users`: the rows outlive a deleted user, and an insert never waits on the users table.
 * - `occurred_at` keeps milliseconds: DATETIME(3) on MySQL/MariaDB; SQLite stores TypeORM's
 *   `YYYY-MM-DD HH:MM:SS.SSS` text, which sorts like the instant.
 * - On MySQL/MariaDB the table is utf8mb4 like the others, and `id` (the cursor's tie-breaker) and `appid`
 *   (a WeChat id) are binary (`CASE_SENSITIVE_COLLATION`), compared byte for byte as on SQLite.
 */
export class AuditEvents1764700000000 implements MigrationInterface {
  name = 'AuditEvents1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'auth_events',
        columns: [
          { name: 'id', type: 'varchar', length: '26', isPrimary: true },
          { name: 'occurred_at', type: 'datetime', precision: 3 },
          { name: 'type', type: 'varchar', length: '32' },
          { name: 'user_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'actor_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'appid', type: 'varchar', length: '64', isNullable: true },
          { name: 'session_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'reason', type: 'varchar', length: '64', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'client_ip', type: 'varchar', length: '45', isNullable: true },
          { name: 'details', type: 'varchar', length: '1024', isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'ix_auth_events_occurred_at_id', columnNames: ['occurred_at', 'id'] }),
          new TableIndex({
            name: 'ix_auth_events_user_id_occurred_at',
            columnNames: ['user_id', 'occurred_at'],
          }),
          new TableIndex({ name: 'ix_auth_events_type_occurred_at', columnNames: ['type', 'occurred_at'] }),
          new TableIndex({ name: 'ix_auth_events_actor_id', columnNames: ['actor_id'] }),
        ],
      }),
    );

    if (isMysqlFamily(q)) {
      // The database's default charset may not be utf8mb4 (see the initial migration); then the two binary
      // columns. Plain MODIFY rather than q.changeColumn: `id` is the primary key, which TypeORM would drop
      // and re-create around the change.
      await q.query(
        `ALTER TABLE \`auth_events\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${DEFAULT_COLLATION}`,
      );
      await q.query(
        `ALTER TABLE \`auth_events\`
           MODIFY \`id\` varchar(26) CHARACTER SET utf8mb4 COLLATE ${CASE_SENSITIVE_COLLATION} NOT NULL,
           MODIFY \`appid\` varchar(64) CHARACTER SET utf8mb4 COLLATE ${CASE_SENSITIVE_COLLATION} NULL`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('auth_events');
  }
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
