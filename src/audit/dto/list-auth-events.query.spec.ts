import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { VALIDATION_OPTIONS } from '../../common/validation/validate-body';
import { ListAuthEventsQuery } from './list-auth-events.query';

/** As the global ValidationPipe (transform: true) sees a query string. */
async function check(query: Record<string, unknown>): Promise<{ ok: boolean; value: ListAuthEventsQuery }> {
  const value = plainToInstance(ListAuthEventsQuery, query);
  const errors = await validate(value, VALIDATION_OPTIONS);
  return { ok: errors.length === 0, value };
}

describe('ListAuthEventsQuery', () => {
  it('accepts a full, valid query and converts limit and dates', async () => {
    const { ok, value } = await check({
      userId: '11111111-1111-4111-8111-111111111111',
      type: 'login.failed',
      appid: 'wx1234567890abcdef',
      from: '2026-01-01T00:00:00Z',
      to: '2026-02-01T08:00:00.250+08:00',
      limit: '25',
      cursor: 'eyJ0IjoxfQ',
    });
    expect(ok).toBe(true);
    expect(value.limit).toBe(25);
    expect(value.from).toEqual(new Date(Date.UTC(2026, 0, 1)));
    expect(value.to).toEqual(new Date(Date.UTC(2026, 1, 1, 0, 0, 0, 250)));
  });

  it('accepts the first and last instants a DATETIME holds (years 1 and 9999, UTC)', async () => {
    const { ok, value } = await check({ from: '0001-01-01T00:00:00Z', to: '9999-12-31T23:59:59.999Z' });
    expect(ok).toBe(true);
    expect(value.from?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(value.to?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    // Within the range through an offset, too.
    expect((await check({ to: '9999-12-31T23:00:00+05:00' })).ok).toBe(true);
  });

  it('accepts an empty query', async () => {
    expect((await check({})).ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['userId not a UUID', { userId: 'abc' }],
    ['type outside the list', { type: 'login.hacked' }],
    ['type given twice', { type: ['login.failed', 'login.succeeded'] }],
    ['appid with a dot', { appid: 'wx.app' }],
    ['appid too long', { appid: 'a'.repeat(65) }],
    ['from not a date', { from: 'yesterday' }],
    ['from without an offset', { from: '2026-01-01T00:00:00' }],
    ['from as a week date', { from: '2026-W01' }],
    ['to as an impossible date', { to: '2026-02-30T00:00:00Z' }],
    ['limit 0', { limit: '0' }],
    ['limit 101', { limit: '101' }],
    ['limit 1.5', { limit: '1.5' }],
    ['limit 1e1', { limit: '1e1' }],
    ['limit with a space', { limit: ' 5' }],
    ['limit with letters after the digits', { limit: '10abc' }],
    ['limit -1', { limit: '-1' }],
    ['limit with a leading zero', { limit: '010' }],
    ['a huge limit', { limit: '99999999999999999999' }],
    ['an empty limit', { limit: '' }],
    ['from past year 9999 through its offset', { from: '9999-12-31T23:00:00-05:00' }],
    ['to past year 9999 through its offset', { to: '9999-12-31T20:00:00-04:00' }],
    ['from in year 0', { from: '0000-06-01T00:00:00Z' }],
    ['from before year 1 through its offset', { from: '0001-01-01T00:00:00+01:00' }],
    ['a five-digit year', { from: '10000-01-01T00:00:00Z' }],
    ['an extended-year form', { from: '+010000-01-01T00:00:00Z' }],
    ['cursor too long', { cursor: 'A'.repeat(513) }],
    ['an unknown parameter', { order: 'asc' }],
  ])('refuses %s', async (_name, query) => {
    expect((await check(query)).ok).toBe(false);
  });
});
