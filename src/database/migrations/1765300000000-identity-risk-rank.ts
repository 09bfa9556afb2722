import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * WeChat's user risk rank on each identity (issue 21): `risk_rank` (0–4, getuserriskrank's answer) and
 * `risk_ranked_at`, both NULL until the risk check (WECHAT_RISK_CHECK) ranks the identity.
 */
export class IdentityRiskRank1765300000000 implements MigrationInterface {
  name = 'IdentityRiskRank1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn(
      'wechat_identities',
      new TableColumn({ name: 'risk_rank', type: 'smallint', isNullable: true }),
    );
    await q.addColumn(
      'wechat_identities',
      new TableColumn({ name: 'risk_ranked_at', type: 'datetime', isNullable: true }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    if (isMysqlFamily(q)) {
      await q.dropColumn('wechat_identities', 'risk_ranked_at');
      await q.dropColumn('wechat_identities', 'risk_rank');
    } else {
      // In place (SQLite 3.35+), not TypeORM's table rebuild (see the identity-lifecycle migration).
      await q.query('ALTER TABLE "wechat_identities" DROP COLUMN "risk_ranked_at"');
      await q.query('ALTER TABLE "wechat_identities" DROP COLUMN "risk_rank"');
    }
  }
}

function isMysqlFamily(q: QueryRunner): boolean {
  const type = q.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
