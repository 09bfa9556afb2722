import { FakeClock } from '../common/clock/fake-clock';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import { testConfig } from '../testing/test-config';
import { RevocationService } from './revocation.service';

const TTL = 900;
// 12:00:00.400 UTC
const START = Date.UTC(2026, 0, 1, 12, 0, 0, 400);

async function setup() {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig({ ACCESS_TOKEN_TTL: String(TTL) });
  const newInstance = async () => {
    const r = new RevocationService(store, clock, config);
    await r.onModuleInit();
    return r;
  };
  return { clock, store, config, a: await newInstance(), newInstance };
}

const token = (over: Partial<{ userId: string; sessionId: string; issuedAt: number }> = {}) => ({
  userId: 'u1',
  sessionId: 's1',
  issuedAt: Math.floor(START / 1000) - 10,
  ...over,
});

describe('RevocationService', () => {
  it('revoking a user stops the tokens issued before, at once, on this instance', async () => {
    const { a } = await setup();
    expect(a.isRevoked(token())).toBe(false);
    await a.revokeUser('u1');
    expect(a.isRevoked(token())).toBe(true);
    // Issued in the same second as the revocation: refused too (iat has one-second precision).
    expect(a.isRevoked(token({ issuedAt: Math.floor(START / 1000) }))).toBe(true);
    expect(a.isRevoked(token({ userId: 'u2' }))).toBe(false);
  });

  it('tokens issued for the user afterwards get an iat that passes, even within the same second', async () => {
    const { a } = await setup();
    await a.revokeUser('u1');
    const iat = await a.issuedAtFor('u1');
    expect(iat).toBe(Math.floor(START / 1000) + 1);
    expect(a.isRevoked(token({ issuedAt: iat }))).toBe(false);
    expect(await a.issuedAtFor('u2')).toBe(Math.floor(START / 1000));
  });

  it('revoking a session stops all of its tokens, whenever issued, and no other session', async () => {
    const { a } = await setup();
    await a.revokeSession('s1');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ issuedAt: Math.floor(START / 1000) + 100 }))).toBe(true);
    expect(a.isRevoked(token({ sessionId: 's2' }))).toBe(false);
  });

  it('reaches every instance sharing the store (published), and instances started later (stored)', async () => {
    const { a, newInstance } = await setup();
    const b = await newInstance();
    await a.revokeUser('u1');
    await b.revokeSession('s9');
    expect(b.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
    const late = await newInstance();
    expect(late.isRevoked(token())).toBe(true);
    expect(late.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
  });

  it('forgets an entry once every token it could stop has expired', async () => {
    const { a, clock, newInstance } = await setup();
    await a.revokeUser('u1');
    clock.advance((TTL + 60) * 1000);
    expect(a.isRevoked(token())).toBe(false);
    expect((await newInstance()).isRevoked(token())).toBe(false);
  });

  it('a later revocation wins over an earlier one; an old message cannot loosen it', async () => {
    const { a, store, clock } = await setup();
    await a.revokeUser('u1');
    clock.advance(5000);
    await a.revokeUser('u1');
    const laterIat = Math.floor(START / 1000) + 3;
    expect(a.isRevoked(token({ issuedAt: laterIat }))).toBe(true);
    await store.publish(
      'revocations',
      JSON.stringify({ kind: 'u', id: 'u1', validAfter: 1, until: clock.now() + 60_000 }),
    );
    expect(a.isRevoked(token({ issuedAt: laterIat }))).toBe(true);
  });

  it('ignores garbage on the channel', async () => {
    const { a, store } = await setup();
    await store.publish('revocations', 'not json');
    await store.publish('revocations', JSON.stringify({ kind: 'x', id: 'u1', validAfter: 1 }));
    expect(a.isRevoked(token())).toBe(false);
  });

  it('keeps serving when the store cannot be read at start, and loads the entries once it can', async () => {
    const { store, clock, config, a } = await setup();
    await a.revokeUser('u1');
    const entries = jest.spyOn(store, 'entries').mockRejectedValueOnce(new Error('down'));
    const b = new RevocationService(store, clock, config);
    await expect(b.onModuleInit()).resolves.toBeUndefined();
    expect(b.isRevoked(token())).toBe(false);
    await b.onModuleInit();
    expect(entries).toHaveBeenCalledTimes(2);
    expect(b.isRevoked(token())).toBe(true);
    b.onModuleDestroy();
  });
});
