import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { CASE_SENSITIVE_COLLATION, DEFAULT_COLLATION } from '../collation';

/**
 * `wechat_usage`: requests to WeChat's metered APIs per app, Beijing day and kind
 * (src/wechat-auth/usage/wechat-usage.entity.ts), counted by one upsert per request.
 */
export class WechatUsage1765250000000 implements MigrationInterface {
  name = 'WechatUsage1765250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'wechat_usage',
        columns: [
          { name: 'appid', type: 'varchar', length: '32', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'api', type: 'varchar', length: '8', isPrimary: true },
          { name: 'sent', type: 'integer' },
          { name: 'answered', type: 'integer' },
          { name: 'failed', type: 'integer' },
        ],
      }),
    );
    const type = q.connection.options.type;
    if (type === 'mysql' || type === 'mariadb') {
      // The database's default charset may not be utf8mb4 (see the initial migration).
      await q.query(
        `ALTER TABLE \`wechat_usage\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${DEFAULT_COLLATION}`,
      );
      // The appid is a WeChat id: compared byte for byte (database/collation.ts). Plain MODIFY: it is part of the
      // primary key, which q.changeColumn would drop and re-create around the change.
      await q.query(
        `ALTER TABLE \`wechat_usage\` MODIFY \`appid\` varchar(32) CHARACTER SET utf8mb4 COLLATE ${CASE_SENSITIVE_COLLATION} NOT NULL`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('wechat_usage');
  }
}
