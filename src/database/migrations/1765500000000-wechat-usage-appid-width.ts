import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { CASE_SENSITIVE_COLLATION } from '../collation';

/**
 * `wechat_usage.appid` as wide as a configured appid may be (1–64 characters, common/validation/ids.ts): at
 * 32, MariaDB refused the count of a longer appid ("Data too long"), and the count was lost.
 */
export class WechatUsageAppidWidth1765500000000 implements MigrationInterface {
  name = 'WechatUsageAppidWidth1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await this.width(q, 64);
  }

  async down(q: QueryRunner): Promise<void> {
    await this.width(q, 32);
  }

  private async width(q: QueryRunner, length: number): Promise<void> {
    const type = q.connection.options.type;
    if (type === 'mysql' || type === 'mariadb') {
      // Plain MODIFY, keeping the byte-for-byte collation: the column is part of the primary key, which
      // q.changeColumn would drop and re-create around the change.
      await q.query(
        `ALTER TABLE \`wechat_usage\` MODIFY \`appid\` varchar(${length}) CHARACTER SET utf8mb4 COLLATE ${CASE_SENSITIVE_COLLATION} NOT NULL`,
      );
      return;
    }
    await q.changeColumn(
      'wechat_usage',
      'appid',
      new TableColumn({ name: 'appid', type: 'varchar', length: String(length), isPrimary: true }),
    );
  }
}
