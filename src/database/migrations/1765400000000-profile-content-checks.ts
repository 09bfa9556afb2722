import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

// Booleans default to 0, not false: TypeORM writes an entity's `default: false` as 0 on SQLite, and the
// schema-drift test compares the two.
const COLUMNS = [
  // 'none' | 'pending' | 'approved' | 'rejected' (users/profile-moderation.ts).
  new TableColumn({ name: 'avatar_status', type: 'varchar', length: '16', default: "'none'" }),
  new TableColumn({ name: 'avatar_pending_url', type: 'varchar', length: '512', isNullable: true }),
  new TableColumn({ name: 'avatar_check_appid', type: 'varchar', length: '64', isNullable: true }),
  new TableColumn({ name: 'avatar_trace_id', type: 'varchar', length: '128', isNullable: true }),
  new TableColumn({ name: 'avatar_submitted_at', type: 'datetime', isNullable: true }),
  new TableColumn({ name: 'avatar_resubmitted', type: 'boolean', default: 0 }),
  new TableColumn({ name: 'avatar_review', type: 'boolean', default: 0 }),
  new TableColumn({ name: 'nickname_review', type: 'boolean', default: 0 }),
];

const TRACE_INDEX = new TableIndex({ name: 'idx_users_avatar_trace', columnNames: ['avatar_trace_id'] });
const PENDING_INDEX = new TableIndex({
  name: 'idx_users_avatar_pending',
  columnNames: ['avatar_status', 'avatar_submitted_at'],
});

/**
 * WeChat's content checks on the profile (docs/content-checks.md): an avatar waiting for WeChat's verdict is
 * kept beside the published one (`avatar_pending_url`, matched to the verdict by `avatar_trace_id`), with
 * when it was sent (the 30-minute re-submit scans `avatar_status, avatar_submitted_at`) and whether it was
 * re-submitted; `nickname_review` / `avatar_review` flag what WeChat said to look at ("review") for admins.
 */
export class ProfileContentChecks1765400000000 implements MigrationInterface {
  name = 'ProfileContentChecks1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('users', COLUMNS);
    await q.createIndex('users', TRACE_INDEX);
    await q.createIndex('users', PENDING_INDEX);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('users', PENDING_INDEX);
    await q.dropIndex('users', TRACE_INDEX);
    const type = q.connection.options.type;
    for (const c of [...COLUMNS].reverse()) {
      if (type === 'mysql' || type === 'mariadb') await q.dropColumn('users', c.name);
      // Not q.dropColumn on SQLite: it rebuilds `users` (DROP + re-create) inside the revert's transaction,
      // where foreign keys cannot be switched off, and would cascade-delete every identity. SQLite 3.35+
      // drops a column in place.
      else await q.query(`ALTER TABLE "users" DROP COLUMN "${c.name}"`);
    }
  }
}
