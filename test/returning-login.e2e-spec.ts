import { DataSource } from 'typeorm';
import { FakeClock } from '../src/common/clock/fake-clock';
import { Random } from '../src/common/random/random';
import { parseDatabaseUrl } from '../src/config/load-config';
import { buildDataSourceOptions } from '../src/database/typeorm-options';
import type { TransactionRunner } from '../src/database/transaction-runner';
import { createUsersService, transactionRunnerFor } from '../src/testing/in-memory-database';
import { User } from '../src/users/user.entity';
import type { UsersService, WechatSession } from '../src/users/users.service';
import { WechatIdentity } from '../src/users/wechat-identity.entity';
import { createTestDatabase, TEST_DB, type TestDatabase } from './support/test-database';

/**
 * The returning login with nothing to decide (no link ticket, no new unionid): one read and the conditional
 * updates of the identity and its user — one multi-table statement on MariaDB, two single ones on SQLite —
 * no transaction (IdentityGraph.returningPlain). What a transaction's lock gave before must still hold: a
 * merge or a deletion landing between the read and the update is seen, and the login starts over from a
 * fresh read. On the suite's tier (the real schema, migrations applied).
 */
describe(`a returning login (${TEST_DB})`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let clock: FakeClock;
  let tx: TransactionRunner;
  let users: UsersService;
  const SESSION: WechatSession = { appid: 'wxapp_one', openid: 'openid-1', sessionKey: 'session-key-1==' };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = new DataSource(
      buildDataSourceOptions({ ...parseDatabaseUrl(db.url, '/unused'), migrateOnStart: true, synchronize: false }),
    );
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });
  beforeEach(async () => {
    for (const entity of [WechatIdentity, User]) await dataSource.getRepository(entity).deleteAll();
    clock = new FakeClock();
    tx = transactionRunnerFor(dataSource, clock);
    users = createUsersService(dataSource, clock, new Random(), tx);
  });
  afterEach(() => jest.restoreAllMocks());

  const identity = () => dataSource.getRepository(WechatIdentity).findOneByOrFail({ openid: 'openid-1' });

  /** Runs `before` once, just before the login's first single statement. */
  const beforeFirstUpdate = (before: () => Promise<unknown>) => {
    const single = tx.single.bind(tx);
    let first = true;
    jest.spyOn(tx, 'single').mockImplementation(async (statement) => {
      if (first) {
        first = false;
        await before();
      }
      return single(statement);
    });
  };

  it('records the login on the identity and the user without a transaction', async () => {
    const first = await users.resolveIdentity(SESSION);
    clock.advance(60_000);
    const run = jest.spyOn(tx, 'run');
    const probe = dataSource.createQueryRunner();
    const query = jest.spyOn(Object.getPrototypeOf(probe) as { query: (sql: string) => unknown }, 'query');
    await probe.release();
    const again = await users.resolveIdentity({ ...SESSION, sessionKey: 'session-key-2==' });
    expect(run).not.toHaveBeenCalled();
    const updates = query.mock.calls.filter(([sql]) => sql.startsWith('UPDATE'));
    expect(updates).toHaveLength(TEST_DB === 'mariadb' ? 1 : 2);
    expect(again).toMatchObject({ isNew: false, user: { id: first.user.id, lastLoginAt: clock.date() } });
    expect((await identity()).lastLoginAt).toEqual(clock.date());
    expect((await dataSource.getRepository(User).findOneByOrFail({ id: first.user.id })).lastLoginAt).toEqual(
      clock.date(),
    );
    expect((await users.identityOf(first.user.id, 'wxapp_one'))?.sessionKey).toBe('session-key-2==');
  });

  it('an identity moved to another user after the read (a merge): starts over and signs in as the new owner', async () => {
    const { user: old } = await users.resolveIdentity(SESSION);
    const { user: other } = await users.resolveIdentity({ ...SESSION, openid: 'openid-2' });
    beforeFirstUpdate(() =>
      dataSource.getRepository(WechatIdentity).update({ openid: 'openid-1' }, { userId: other.id }),
    );
    const { user } = await users.resolveIdentity(SESSION);
    expect(user.id).toBe(other.id);
    expect(user.id).not.toBe(old.id);
    expect((await identity()).userId).toBe(other.id);
  });

  it('a user deleted after the read: starts over, and the identity (gone with it) makes a new user', async () => {
    const { user: old } = await users.resolveIdentity(SESSION);
    beforeFirstUpdate(() => dataSource.getRepository(User).delete({ id: old.id }));
    const { user, isNew } = await users.resolveIdentity(SESSION);
    expect(isNew).toBe(true);
    expect(user.id).not.toBe(old.id);
  });

  it('a user disabled before the login is refused (USER_DISABLED), from the same read', async () => {
    const { user } = await users.resolveIdentity(SESSION);
    await dataSource.getRepository(User).update({ id: user.id }, { status: 'disabled' });
    await expect(users.resolveIdentity(SESSION)).rejects.toMatchObject({ code: 'USER_DISABLED' });
  });
});
