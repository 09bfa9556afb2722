import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { CASE_SENSITIVE_COLLATION, DEFAULT_COLLATION } from '../collation';

const CASE_SENSITIVE_IDS: { table: string; column: string }[] = [
  { table: 'wechat_identities', column: 'appid' },
  { table: 'wechat_identities', column: 'openid' },
  { table: 'wechat_identities', column: 'unionid' },
  { table: 'refresh_tokens', column: 'appid' },
];

const PHONE_INDEX = new TableIndex({
  name: 'uq_users_phone',
  columnNames: ['phone_country_code', 'phone'],
  isUnique: true,
});

/**
 * What an identity and a user need past the first login:
 * - WeChat ids compare case-sensitively on MySQL/MariaDB (see `CASE_SENSITIVE_COLLATION`). The unique
 *   (appid, openid) index is rebuilt with the columns, so it too tells `oA` from `oa` afterwards.
 * - `session_key_enc` may be NULL (a channel without a WeChat session), and `session_key_updated_at` says
 *   when the key was last set (open-data decryption needs a fresh one).
 * - `users.phone_country_code` beside `users.phone` (WeChat's purePhoneNumber), unique as a pair so one
 *   number belongs to one user. Rows with either part NULL never collide (SQL NULL semantics, both engines),
 *   so users without a phone, and any phone stored before this migration without a country code, are fine.
 *
 * `down` restores the case-insensitive collation; if openids that differ only in case were stored meanwhile it
 * refuses before changing anything, rather than failing half-way or merging two accounts. Identities without
 * a session_key get an empty one, which the next login overwrites.
 */
export class IdentityLifecycle1764600000000 implements MigrationInterface {
  name = 'IdentityLifecycle1764600000000';

  async up(q: QueryRunner): Promise<void> {
    if (isMysqlFamily(q)) await setCollation(q, CASE_SENSITIVE_COLLATION);

    await changeColumn(q, 'wechat_identities', 'session_key_enc', (c) => (c.isNullable = true));
    await q.addColumn(
      'wechat_identities',
      new TableColumn({ name: 'session_key_updated_at', type: 'datetime', isNullable: true }),
    );

    await q.addColumn(
      'users',
      new TableColumn({ name: 'phone_country_code', type: 'varchar', length: '8', isNullable: true }),
    );
    await q.createIndex('users', PHONE_INDEX);
  }

  async down(q: QueryRunner): Promise<void> {
    // First, and checked before any DDL (MySQL cannot roll DDL back): refuse rather than half-revert.
    if (isMysqlFamily(q)) {
      const clashes: unknown[] = await q.query(
        `SELECT 1 FROM wechat_identities
         GROUP BY appid COLLATE ${DEFAULT_COLLATION}, openid COLLATE ${DEFAULT_COLLATION}
         HAVING COUNT(*) > 1 LIMIT 1`,
      );
      if (clashes.length > 0) {
        throw new Error(
          'wechat_identities holds openids that differ only in case; a case-insensitive schema cannot keep them apart',
        );
      }
      await setCollation(q, DEFAULT_COLLATION);
    }

    await q.dropIndex('users', PHONE_INDEX);
    if (isMysqlFamily(q)) {
      await q.dropColumn('users', 'phone_country_code');
    } else {
      // Not q.dropColumn: on SQLite TypeORM rebuilds the table (DROP + re-create), and `migration:revert`
      // runs `down` inside a transaction, where `PRAGMA foreign_keys = OFF` is a no-op, so dropping `users`
      // would cascade-delete every wechat_identities row. SQLite (3.35+) drops a column in place.
      await q.query('ALTER TABLE "users" DROP COLUMN "phone_country_code"');
    }

    await q.dropColumn('wechat_identities', 'session_key_updated_at');
    await q.query(`UPDATE wechat_identities SET session_key_enc = '' WHERE session_key_enc IS NULL`);
    await changeColumn(q, 'wechat_identities', 'session_key_enc', (c) => (c.isNullable = false));
  }
}

async function setCollation(q: QueryRunner, collation: string): Promise<void> {
  for (const { table, column } of CASE_SENSITIVE_IDS) {
    await changeColumn(q, table, column, (c) => {
      c.charset = undefined;
      c.collation = collation;
    });
  }
}

/** Alters one column in place (MySQL: `CHANGE`; SQLite: TypeORM rebuilds the table, keeping rows and indices). */
async function changeColumn(
  q: QueryRunner,
  tableName: string,
  columnName: string,
  edit: (column: TableColumn) => void,
): Promise<void> {
  const table = await q.getTable(tableName);
  const old = table?.findColumnByName(columnName);
  if (!table || !old) throw new Error(`${tableName}.${columnName} not found`);
  const changed = old.clone();
  edit(changed);
  await q.changeColumn(table, old, changed);
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
