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

const token = (over: Partial<{ userId: string; sessionId: string; userEpoch: number }> = {}) => ({
  userId: 'u1',
  sessionId: 's1',
  userEpoch: 0,
  ...over,
});

describe('RevocationService', () => {
  it('revoking a user stops the tokens issued under an earlier epoch, at once, on this instance', async () => {
    const { a } = await setup();
    expect(a.isRevoked(token())).toBe(false);
    await a.revokeUser('u1');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u2' }))).toBe(false);
  });

  it('tokens issued afterwards carry the new epoch and pass', async () => {
    const { a } = await setup();
    await a.revokeUser('u1');
    const epoch = await a.epochFor('u1');
    expect(epoch).toBe(START);
    expect(a.isRevoked(token({ userEpoch: epoch }))).toBe(false);
    expect(await a.epochFor('u2')).toBe(0);
  });

  it('a second revocation in the same millisecond still stops a token issued between the two', async () => {
    const { a } = await setup();
    await a.revokeUser('u1');
    const between = await a.epochFor('u1');
    await a.revokeUser('u1');
    expect(a.isRevoked(token({ userEpoch: between }))).toBe(true);
    expect(a.isRevoked(token({ userEpoch: await a.epochFor('u1') }))).toBe(false);
  });

  it('an issuer reading the epoch before a racing revocation gets a token that the revocation stops', async () => {
    const { a, newInstance } = await setup();
    const b = await newInstance();
    // Instance B starts a refresh: epoch first, then (old) roles/status; meanwhile A revokes.
    const readByB = await b.epochFor('u1');
    await a.revokeUser('u1');
    expect(b.isRevoked(token({ userEpoch: readByB }))).toBe(true);
  });

  it('uppercase ids (MySQL matches them) revoke the lowercase ids tokens carry', async () => {
    const { a } = await setup();
    await a.revokeUser('U1');
    await a.revokeSession('S9');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
  });

  it('revoking a session stops all of its tokens, whatever their epoch, and no other session', async () => {
    const { a } = await setup();
    await a.revokeSession('s1');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userEpoch: Number.MAX_SAFE_INTEGER }))).toBe(true);
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

  it('forgets an entry once every token it could stop has expired; a later revocation is still above old epochs', async () => {
    const { a, clock, newInstance } = await setup();
    await a.revokeUser('u1');
    const old = await a.epochFor('u1');
    clock.advance((TTL + 60) * 1000);
    expect(a.isRevoked(token())).toBe(false);
    expect((await newInstance()).isRevoked(token())).toBe(false);
    await a.revokeUser('u1');
    expect(a.isRevoked(token({ userEpoch: old }))).toBe(true);
  });

  it('a later revocation wins over an earlier one; an old message cannot loosen it', async () => {
    const { a, store, clock } = await setup();
    await a.revokeUser('u1');
    clock.advance(5000);
    await a.revokeUser('u1');
    const first = START;
    expect(a.isRevoked(token({ userEpoch: first }))).toBe(true);
    await store.publish(
      'revocations',
      JSON.stringify({ kind: 'u', id: 'u1', validAfter: 1, until: clock.now() + 60_000 }),
    );
    expect(a.isRevoked(token({ userEpoch: first }))).toBe(true);
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
