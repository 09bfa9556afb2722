import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource, Repository } from 'typeorm';
import { fastifyOptions } from '../src/app.setup';
import { AuditModule } from '../src/audit/audit.module';
import { AuditService } from '../src/audit/audit.service';
import { AuthEvent } from '../src/audit/auth-event.entity';
import { AuditEvents1764700000000 } from '../src/database/migrations/1764700000000-audit-events';
import { Clock } from '../src/common/clock/clock';
import { FakeClock } from '../src/common/clock/fake-clock';
import { CommonModule } from '../src/common/common.module';
import { Random } from '../src/common/random/random';
import { ReqContext, type RequestContext } from '../src/common/request-context';
import type { AppConfig } from '../src/config/app-config';
import { AppConfigModule } from '../src/config/app-config.module';
import { loadConfig } from '../src/config/load-config';
import { DatabaseModule } from '../src/database/database.module';
import { UNIT_TEST_ENV } from '../src/testing/test-config';
import { createTestDatabase, TEST_DB, type TestDatabase } from './support/test-database';

const USER_A = '11111111-1111-4111-8111-111111111111';
const USER_B = '22222222-2222-4222-8222-222222222222';
const DAY = 86_400_000;
const START = Date.UTC(2026, 5, 1, 12, 0, 0, 1);

/** A route that records an event, as a feature's controller would: the request context reaches the service. */
@Controller('probe')
class ProbeController {
  constructor(private readonly audit: AuditService) {}

  @Post()
  @HttpCode(204)
  async record(
    @Body() body: { userId: string; appid: string },
    @ReqContext() context: RequestContext,
  ): Promise<void> {
    await this.audit.record({
      type: 'login.succeeded',
      userId: body.userId,
      appid: body.appid,
      details: { isNewUser: true },
      context,
    });
  }
}

/**
 * The audit trail against the real engine (SQLite file, or MariaDB with TEST_DB=mariadb): the migration on a
 * fresh database, millisecond ordering, binary collation, purge and forget, and AuditModule wired in Nest.
 */
describe(`audit trail (${TEST_DB})`, () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let clock: FakeClock;
  let audit: AuditService;
  let ds: DataSource;
  let repo: Repository<AuthEvent>;
  let config: AppConfig;

  beforeAll(async () => {
    db = await createTestDatabase();
    config = loadConfig({
      ...UNIT_TEST_ENV,
      DATABASE_URL: db.url,
      TRUST_PROXY: '127.0.0.1',
      AUDIT_RETENTION_DAYS: '30',
    });
    clock = new FakeClock(START);
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(config), CommonModule, DatabaseModule, AuditModule],
      controllers: [ProbeController],
    })
      .overrideProvider(Clock)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(fastifyOptions(config)));
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    audit = app.get(AuditService);
    ds = app.get<DataSource>(getDataSourceToken());
    repo = ds.getRepository(AuthEvent);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(async () => {
    await repo.clear();
  });

  it('the migration made the table on a fresh database, with no drift from the entity', async () => {
    const migrations: { name: string }[] = await ds.query('SELECT name FROM migrations');
    expect(migrations.map((m) => m.name)).toContain('AuditEvents1764700000000');
    const drift = await ds.driver.createSchemaBuilder().log();
    expect(drift.upQueries.map((q) => q.query)).toEqual([]);
    const table = await ds.createQueryRunner().getTable('auth_events');
    expect(table?.indices.map((i) => i.name).sort()).toEqual([
      'ix_auth_events_actor_id',
      'ix_auth_events_occurred_at_id',
      'ix_auth_events_type_occurred_at',
      'ix_auth_events_user_id_occurred_at',
    ]);
    expect(table?.foreignKeys).toEqual([]);
  });

  (TEST_DB === 'mariadb' ? it : it.skip)(
    'MariaDB: DATETIME(3), utf8mb4, binary id and appid (the live columns)',
    async () => {
      const columns: Array<{ name: string; type: string; collation: string | null }> = await ds.query(
        `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, COLLATION_NAME AS collation
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'auth_events'`,
      );
      const byName = Object.fromEntries(columns.map((c) => [c.name, c]));
      expect(byName.occurred_at.type).toBe('datetime(3)');
      expect(byName.id.collation).toBe('utf8mb4_bin');
      expect(byName.appid.collation).toBe('utf8mb4_bin');
      for (const name of ['type', 'user_id', 'reason', 'details', 'client_ip'])
        expect(byName[name].collation).toBe('utf8mb4_unicode_ci');
    },
  );

  it('records through HTTP with the request id and the client IP trusted by TRUST_PROXY', async () => {
    await request(app.getHttpServer())
      .post('/probe')
      .set('x-forwarded-for', '203.0.113.7')
      .send({ userId: USER_A, appid: 'wxapp_one' })
      .expect(204);
    const [event] = (await audit.list({ userId: USER_A })).items;
    expect(event).toMatchObject({
      type: 'login.succeeded',
      appid: 'wxapp_one',
      clientIp: '203.0.113.7',
      // The id the app minted (a UUID); a client's X-Request-Id is never recorded (below).
      requestId: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      details: { isNewUser: true },
      occurredAt: new Date(START).toISOString(),
    });
  });

  it('records no request id the client chose (X-Request-Id), even a UUID: logs may use it, the trail does not', async () => {
    await request(app.getHttpServer())
      .post('/probe')
      .set('x-request-id', '2d7a5b9c-3e4f-4a71-8cbd-2e3f4a5b6c7d')
      .send({ userId: USER_B, appid: 'wxapp_one' })
      .expect(204);
    const [event] = (await audit.list({ userId: USER_B })).items;
    expect(event).toMatchObject({ type: 'login.succeeded', requestId: null });
  });

  it('keeps milliseconds and orders newest first to the millisecond, ties by id, across pages', async () => {
    for (let i = 0; i < 12; i++) {
      clock.advance(i % 3 === 0 ? 1 : 0); // several events within one millisecond
      await audit.record({ type: 'token.refreshed', userId: USER_A });
    }
    const rows = await repo.find();
    const written = rows.map((r) => `${r.occurredAt.toISOString()} ${r.id}`);
    expect(new Set(rows.map((r) => r.occurredAt.getTime())).size).toBe(4);
    expect(rows.every((r) => r.occurredAt.getUTCMilliseconds() !== 0)).toBe(true);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.list({ userId: USER_A }, { limit: 5, cursor });
      seen.push(...page.items.map((e) => `${e.occurredAt} ${e.id}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...written].sort().reverse());
  });

  it('filters by appid case-sensitively and by [from, to) to the millisecond', async () => {
    await audit.record({ type: 'login.succeeded', userId: USER_A, appid: 'wxCaseApp' });
    clock.advance(1);
    await audit.record({ type: 'login.succeeded', userId: USER_B, appid: 'wxcaseapp' });
    const at = clock.date();
    expect((await audit.list({ appid: 'wxCaseApp' })).items.map((e) => e.userId)).toEqual([USER_A]);
    expect((await audit.list({ appid: 'wxcaseapp' })).items.map((e) => e.userId)).toEqual([USER_B]);
    expect((await audit.list({ appid: 'WXCASEAPP' })).items).toEqual([]);
    expect((await audit.list({ from: at })).items.map((e) => e.userId)).toEqual([USER_B]);
    expect((await audit.list({ to: at })).items.map((e) => e.userId)).toEqual([USER_A]);
  });

  it('purges past the retention and forgets a user without losing their rows', async () => {
    const now = clock.now();
    const old = new FakeClock(now - 31 * DAY);
    // An event written "31 days ago": the same service over the same table, with another clock.
    await new AuditService(repo, old, new Random(), config).record({
      type: 'login.succeeded',
      userId: USER_B,
    });
    await audit.record({ type: 'login.succeeded', userId: USER_A, details: { isNewUser: true } });
    await audit.record({
      type: 'user.disabled',
      userId: USER_B,
      actorId: USER_A,
      details: { previousStatus: 'active' },
    });
    expect(await repo.count()).toBe(3);

    expect(await audit.purgeOlderThan()).toBe(1); // AUDIT_RETENTION_DAYS=30
    expect(await repo.count()).toBe(2);

    await repo.createQueryBuilder().update().set({ clientIp: '198.51.100.4' }).execute();
    await audit.forgetUser(USER_A);
    const rows = await repo.find();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.userId === USER_A)).toMatchObject({ clientIp: null, details: null });
    expect(rows.find((r) => r.userId === USER_B)).toMatchObject({
      actorId: USER_A,
      clientIp: null,
      details: '{"previousStatus":"active"}',
    });
  });

  it('record never fails the caller, even when the table is gone; the migration reverts', async () => {
    const runner = ds.createQueryRunner();
    try {
      await new AuditEvents1764700000000().down(runner);
      expect(await runner.hasTable('auth_events')).toBe(false);
      await expect(audit.record({ type: 'token.refreshed', userId: USER_A })).resolves.toBeUndefined();
      await new AuditEvents1764700000000().up(runner);
      expect(await runner.hasTable('auth_events')).toBe(true);
    } finally {
      await runner.release();
    }
  });
});
