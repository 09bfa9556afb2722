import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from './support/fake-wechat';
import { createTestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/**
 * Two apps in one process (as the two-instance tests run them) each log in against their own database:
 * passport's process-wide strategy registry once sent every login to the last app started. Each app's
 * strategy now sits on a Passport of its own (WechatStrategy), which production code needs no less.
 */
it('each app logs in against its own database', async () => {
  const wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
  const [d1, d2] = [await createTestDatabase(), await createTestDatabase()];
  const a = await createTestApp({ databaseUrl: d1.url, wechatApiBase: wechat.baseUrl });
  const b = await createTestApp({ databaseUrl: d2.url, wechatApiBase: wechat.baseUrl });
  try {
    expect((await request(a.server).post('/auth/wechat/login').send({ code: wechat.mint() })).status).toBe(
      200,
    );
    expect((await request(b.server).post('/auth/wechat/login').send({ code: wechat.mint() })).status).toBe(
      200,
    );
    expect((await request(b.server).post('/auth/wechat/login').send({ code: wechat.mint() })).status).toBe(
      200,
    );
    const count = async (t: typeof a) =>
      Number((await t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM users'))[0].n);
    expect([await count(a), await count(b)]).toEqual([1, 2]);
  } finally {
    await a.close();
    await b.close();
    await d1.drop();
    await d2.drop();
    await wechat.stop();
  }
}, 60_000); // Two fresh databases, two app starts with migrations: ~10 s on MariaDB.
