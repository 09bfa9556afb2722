import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/**
 * Users, WeChat identities and refresh tokens. Written with TypeORM's schema
 * builder so the same migration runs on MySQL/MariaDB and SQLite.
 */
export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'users',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'nickname', type: 'varchar', length: '64', isNullable: true },
          { name: 'avatar_url', type: 'varchar', length: '512', isNullable: true },
          { name: 'phone', type: 'varchar', length: '32', isNullable: true },
          { name: 'roles', type: 'varchar', length: '255', default: "'user'" },
          { name: 'status', type: 'varchar', length: '16', default: "'active'" },
          { name: 'created_at', type: 'datetime' },
          { name: 'updated_at', type: 'datetime' },
          { name: 'last_login_at', type: 'datetime', isNullable: true },
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'wechat_identities',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'appid', type: 'varchar', length: '64' },
          { name: 'openid', type: 'varchar', length: '128' },
          { name: 'unionid', type: 'varchar', length: '128', isNullable: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'session_key_enc', type: 'varchar', length: '255' },
          { name: 'created_at', type: 'datetime' },
          { name: 'updated_at', type: 'datetime' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_wechat_identities_appid_openid',
            columnNames: ['appid', 'openid'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_wechat_identities_unionid', columnNames: ['unionid'] }),
          new TableIndex({ name: 'ix_wechat_identities_user_id', columnNames: ['user_id'] }),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'refresh_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'family_id', type: 'varchar', length: '36' },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'appid', type: 'varchar', length: '64' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'expires_at', type: 'datetime' },
          { name: 'revoked_at', type: 'datetime', isNullable: true },
          { name: 'replaced_by', type: 'varchar', length: '36', isNullable: true },
          { name: 'created_at', type: 'datetime' },
        ],
        indices: [
          new TableIndex({
            name: 'uq_refresh_tokens_token_hash',
            columnNames: ['token_hash'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_refresh_tokens_family_id', columnNames: ['family_id'] }),
          new TableIndex({ name: 'ix_refresh_tokens_user_id', columnNames: ['user_id'] }),
        ],
      }),
    );

    if (isMysqlFamily(q)) {
      // Emoji nicknames need 4-byte UTF-8 whatever the server's default charset is. Converted before the
      // foreign key exists: MySQL refuses to change the collation of a referenced column.
      for (const table of ['users', 'wechat_identities', 'refresh_tokens']) {
        await q.query(`ALTER TABLE \`${table}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      }
    }

    await q.createForeignKey(
      'wechat_identities',
      new TableForeignKey({
        name: 'fk_wechat_identities_user',
        columnNames: ['user_id'],
        referencedTableName: 'users',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
        onUpdate: 'NO ACTION',
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('refresh_tokens');
    await q.dropTable('wechat_identities');
    await q.dropTable('users');
  }
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
