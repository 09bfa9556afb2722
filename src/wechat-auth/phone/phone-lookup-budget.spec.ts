import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { StoreUnavailableError } from '../../common/store/store-unavailable.error';
import { testConfig } from '../../testing/test-config';
import { personCap, PhoneLookupBudget, type PhoneLookupPerson } from './phone-lookup-budget';

/** 2026-01-01 03:00 UTC = 11:00 in Beijing: 13 h to the quota day's end. */
const START = Date.UTC(2026, 0, 1, 3);
const HOUR = 3600_000;

const alice: PhoneLookupPerson = { appid: 'wxapp_one', openid: 'o-alice-in-one' };
const bob: PhoneLookupPerson = { appid: 'wxapp_one', openid: 'o-bob-in-one' };

describe('PhoneLookupBudget', () => {
  let clock: FakeClock;
  let store: MemoryKvStore;
  let error: jest.SpyInstance;

  const budget = (perPerson: number, perApp: number) =>
    new PhoneLookupBudget(
      store,
      clock,
      testConfig({
        PHONE_LOOKUPS_PER_USER_PER_DAY: String(perPerson),
        PHONE_LOOKUPS_PER_APP_PER_DAY: String(perApp),
      }),
    );
  /** The outcome of one lookup: 'ok', or the refusal's code. */
  const attempt = async (b: PhoneLookupBudget, p: PhoneLookupPerson): Promise<string> => {
    try {
      await b.spend(p);
      return 'ok';
    } catch (e) {
      if (e instanceof AppException) return e.code;
      throw e;
    }
  };
  const attempts = async (b: PhoneLookupBudget, p: PhoneLookupPerson, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await attempt(b, p));
    return out;
  };

  beforeEach(() => {
    clock = new FakeClock(START);
    store = new MemoryKvStore(clock);
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('caps a person per day with 429 PHONE_RATE_LIMITED and a Retry-After to Beijing midnight', async () => {
    const b = budget(3, 1000);
    expect(await attempts(b, alice, 3)).toEqual(['ok', 'ok', 'ok']);
    const refused = await b.spend(alice).catch((e: AppException) => e);
    expect(refused).toBeInstanceOf(AppException);
    expect(refused).toMatchObject({ code: 'PHONE_RATE_LIMITED', extras: { retryAfter: 13 * 3600 } });
    // Another person is not affected.
    expect(await attempt(b, bob)).toBe('ok');
  });

  it('the cap is the person, not a user row: a new budget instance (a deleted account logging in again) still sees it', async () => {
    expect(await attempts(budget(2, 1000), alice, 2)).toEqual(['ok', 'ok']);
    // Nothing about our user id is part of the count: the same WeChat account is refused.
    expect(await attempt(budget(2, 1000), alice)).toBe('PHONE_RATE_LIMITED');
  });

  it('a new Beijing day starts a new allowance', async () => {
    const b = budget(1, 1000);
    expect(await attempts(b, alice, 2)).toEqual(['ok', 'PHONE_RATE_LIMITED']);
    clock.advance(13 * HOUR - 1);
    expect(await attempt(b, alice)).toBe('PHONE_RATE_LIMITED');
    clock.advance(1);
    expect(await attempt(b, alice)).toBe('ok');
  });

  it('with a unionid, the person is the same in every app: their openid of another app shares the cap', async () => {
    const b = budget(2, 1000);
    const inOne = { appid: 'wxapp_one', openid: 'o-carol-one', unionid: 'u-carol' };
    const inTwo = { appid: 'wxapp_two', openid: 'o-carol-two', unionid: 'u-carol' };
    expect(await attempt(b, inOne)).toBe('ok');
    expect(await attempt(b, inTwo)).toBe('ok');
    expect(await attempt(b, inTwo)).toBe('PHONE_RATE_LIMITED');
    expect(await attempt(b, inOne)).toBe('PHONE_RATE_LIMITED');
  });

  it('a unionid appearing mid-day opens no second allowance for the same openid', async () => {
    const b = budget(2, 1000);
    expect(await attempts(b, alice, 2)).toEqual(['ok', 'ok']);
    expect(await attempt(b, { ...alice, unionid: 'u-alice' })).toBe('PHONE_RATE_LIMITED');
  });

  it('a refusal by the unionid count gives back what the openid count took', async () => {
    const b = budget(1, 1000);
    expect(await attempt(b, { appid: 'wxapp_two', openid: 'o-dan-two', unionid: 'u-dan' })).toBe('ok');
    const dan = { appid: 'wxapp_one', openid: 'o-dan-one', unionid: 'u-dan' };
    expect(await attempt(b, dan)).toBe('PHONE_RATE_LIMITED');
    // Without the unionid (say WeChat stops sending it), the openid's own count is still unused.
    expect(await attempt(b, { appid: dan.appid, openid: dan.openid })).toBe('ok');
  });

  it('lookups a person is not allowed never count against the app budget', async () => {
    const b = budget(2, 4);
    expect(await attempts(b, alice, 10)).toEqual(['ok', 'ok', ...Array(8).fill('PHONE_RATE_LIMITED')]);
    // The app has spent 2 of 4: two others still get theirs.
    expect(await attempt(b, bob)).toBe('ok');
    expect(await attempt(b, { appid: 'wxapp_one', openid: 'o-erin' })).toBe('ok');
    expect(await attempt(b, { appid: 'wxapp_one', openid: 'o-frank' })).toBe('PHONE_RATE_LIMITED');
  });

  it.each([
    // [per person, per app, what one person gets]
    [5, 10000, 5],
    [5, 3, 2],
    [5, 2, 1],
    [5, 1, 1],
    [1, 3, 1],
  ])(
    'one person cannot take the whole app budget: cap %i, budget %i → %i for one person',
    async (perPerson, perApp, expected) => {
      expect(personCap(perPerson, perApp)).toBe(expected);
      const b = budget(perPerson, perApp);
      const outcomes = await attempts(b, alice, Math.min(expected + 3, 20));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(expected);
      // Whatever is left of a budget of 2 or more is there for someone else.
      if (perApp >= 2) expect(await attempt(b, bob)).toBe('ok');
    },
  );

  it('app budget spent: 429 for everyone, one PHONE_APP_BUDGET alert, and the refused person keeps their allowance', async () => {
    const b = budget(1, 2);
    expect(await attempt(b, alice)).toBe('ok');
    expect(await attempt(b, bob)).toBe('ok');
    const carol = { appid: 'wxapp_one', openid: 'o-carol' };
    expect(await attempts(b, carol, 3)).toEqual(Array(3).fill('PHONE_RATE_LIMITED'));
    expect(
      error.mock.calls.filter(([ctx]) => (ctx as { alert?: string }).alert === 'PHONE_APP_BUDGET'),
    ).toEqual([
      [{ alert: 'PHONE_APP_BUDGET', appid: 'wxapp_one', budget: 2 }, expect.stringContaining('spent')],
    ]);
    // Another app's budget is its own, and carol's refusals by the app budget cost her nothing.
    expect(await attempt(b, { appid: 'wxapp_two', openid: 'o-carol-two' })).toBe('ok');
    clock.advance(13 * HOUR);
    expect(await attempt(b, carol)).toBe('ok');
  });

  it('the give-back returns the lookup to the person and the app (a call refused before it left)', async () => {
    const b = budget(1, 1);
    const giveBack = await b.spend(alice);
    await giveBack();
    await giveBack();
    // The app's one lookup is free again, once; alice has hers back too.
    expect(await attempt(b, bob)).toBe('ok');
    expect(await attempt(b, { appid: 'wxapp_one', openid: 'o-erin' })).toBe('PHONE_RATE_LIMITED');
    const other = budget(1, 10);
    await (
      await other.spend({ appid: 'wxapp_two', openid: 'o-gina' })
    )();
    expect(await attempt(other, { appid: 'wxapp_two', openid: 'o-gina' })).toBe('ok');
  });

  it('of parallel taps exactly the cap pass', async () => {
    const b = budget(3, 1000);
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => attempt(b, alice)));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
  });

  it('store keys carry keyed hashes, never an openid or unionid, and one openid in two apps is two people', async () => {
    const b = budget(1, 1000);
    await b.spend({ appid: 'wxapp_one', openid: 'o-same-text', unionid: 'u-secretive' });
    await b.spend({ appid: 'wxapp_two', openid: 'o-same-text' });
    const keys = (await store.entries('')).map(([k]) => k);
    expect(keys.some((k) => k.includes('o-same-text') || k.includes('u-secretive'))).toBe(false);
    expect(keys.filter((k) => k.startsWith('phone:person:o:'))).toHaveLength(2);
    expect(keys.filter((k) => k.startsWith('phone:person:u:'))).toHaveLength(1);
    expect(keys.filter((k) => k.startsWith('phone:app:'))).toHaveLength(2);
  });

  it('fails closed when the store does not answer (503 from the store), giving back what it took', async () => {
    const b = budget(1, 1000);
    const increment = jest.spyOn(store, 'increment');
    // The person's count answers, the app's does not.
    increment.mockImplementationOnce(MemoryKvStore.prototype.increment.bind(store));
    increment.mockRejectedValueOnce(new StoreUnavailableError(5));
    await expect(b.spend(alice)).rejects.toBeInstanceOf(StoreUnavailableError);
    increment.mockRestore();
    expect(await attempt(b, alice)).toBe('ok');
  });
});
