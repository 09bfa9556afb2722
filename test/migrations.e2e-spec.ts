import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../src/config/load-config';
import { buildDataSourceOptions } from '../src/database/typeorm-options';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The migrations build exactly the schema the entities describe, and revert cleanly (SQLite and MariaDB tiers). */
describe('migrations', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = new DataSource(
      buildDataSourceOptions({
        ...parseDatabaseUrl(db.url, '/unused'),
        migrateOnStart: false,
        synchronize: false,
      }),
    );
    await ds.initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('apply, leave no difference from the entities, and revert', async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    expect(applied.map((m) => m.name)).toEqual([
      'InitialSchema1763800000000',
      'IdentityLifecycle1764600000000',
      'AuditEvents1764700000000',
      'DurableRevocations1765000000000',
      'IdentityGraph1765100000000',
      'WechatUsage1765250000000',
      'IdentityRiskRank1765300000000',
      'ProfileContentChecks1765400000000',
      'WechatUsageAppidWidth1765500000000',
    ]);

    const drift = await ds.driver.createSchemaBuilder().log();
    expect(drift.upQueries.map((q) => q.query)).toEqual([]);

    for (let i = 0; i < applied.length; i++) await ds.undoLastMigration();
    const runner = ds.createQueryRunner();
    try {
      for (const table of [
        'users',
        'wechat_identities',
        'refresh_tokens',
        'revocations',
        'wechat_usage',
        'unionids',
      ])
        expect(await runner.hasTable(table)).toBe(false);
    } finally {
      await runner.release();
    }
  });
});
