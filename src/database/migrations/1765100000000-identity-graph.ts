import { MigrationInterface, QueryRunner, Table, TableColumn, TableForeignKey, TableIndex } from 'typeorm';
import { CASE_SENSITIVE_COLLATION, DEFAULT_COLLATION } from '../collation';

/**
 * The identity graph (issue 20):
 * - `wechat_identities.kind`: the door an identity came through (miniprogram, oa, web, app); every identity
 *   stored so far came from a mini program. `last_login_at`: for `GET /users/me/identities`.
 * - `unionids`: unionid → user, the primary key deciding that one unionid is one user. Filled from the
 *   identities already stored; where older data has several users on one unionid, the smallest user id is
 *   recorded and the next login of that person merges them (UsersService.consolidate).
 */
export class IdentityGraph1765100000000 implements MigrationInterface {
  name = 'IdentityGraph1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'wechat_identities',
      new TableColumn({ name: 'kind', type: 'varchar', length: '16', default: "'miniprogram'" }),
    );
    await q.addColumn(
      'wechat_identities',
      new TableColumn({ name: 'last_login_at', type: 'datetime', isNullable: true }),
    );

    await q.createTable(
      new Table({
        name: 'unionids',
        columns: [
          { name: 'unionid', type: 'varchar', length: '128', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'created_at', type: 'datetime' },
        ],
        indices: [new TableIndex({ name: 'ix_unionids_user_id', columnNames: ['user_id'] })],
      }),
    );
    if (isMysqlFamily(q)) {
      // utf8mb4 whatever the server default (see the initial migration), so user_id matches users.id for the
      // foreign key; the unionid itself compares byte for byte, like everywhere else (collation.ts).
      await q.query(`ALTER TABLE \`unionids\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${DEFAULT_COLLATION}`);
      await q.query(
        `ALTER TABLE \`unionids\` MODIFY \`unionid\` varchar(128) CHARACTER SET utf8mb4 COLLATE ${CASE_SENSITIVE_COLLATION} NOT NULL`,
      );
    }
    await q.createForeignKey(
      'unionids',
      new TableForeignKey({
        name: 'fk_unionids_user',
        columnNames: ['user_id'],
        referencedTableName: 'users',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
        onUpdate: 'NO ACTION',
      }),
    );
    await q.query(
      `INSERT INTO unionids (unionid, user_id, created_at)
       SELECT unionid, MIN(user_id), MIN(created_at) FROM wechat_identities
       WHERE unionid IS NOT NULL GROUP BY unionid`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('unionids', true, true, true);
    if (isMysqlFamily(q)) {
      await q.dropColumn('wechat_identities', 'last_login_at');
      await q.dropColumn('wechat_identities', 'kind');
    } else {
      // In place (SQLite 3.35+), not TypeORM's table rebuild (see the identity-lifecycle migration).
      await q.query('ALTER TABLE "wechat_identities" DROP COLUMN "last_login_at"');
      await q.query('ALTER TABLE "wechat_identities" DROP COLUMN "kind"');
    }
  }
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
