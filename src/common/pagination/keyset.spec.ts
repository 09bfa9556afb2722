import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppException } from '../errors/app.exception';
import { Keyset, MAX_CURSOR_LENGTH } from './keyset';
import { PageCursor, PageLimit } from './page-query';
import { thrownBy } from '../../testing/thrown';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID = '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const keyset = new Keyset<{ at: Date; id: string }>({
  idPattern: UUID,
  timeColumn: 'r.at',
  idColumn: 'r.id',
  positionOf: (r) => ({ t: r.at.getTime(), id: r.id }),
});
const raw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Keyset cursors', () => {
  it('round-trip, opaque and URL-safe', () => {
    const cursor = keyset.encode({ t: Date.UTC(2026, 5, 1, 0, 0, 0, 7), id: ID });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(keyset.decode(cursor)).toEqual({ t: Date.UTC(2026, 5, 1, 0, 0, 0, 7), id: ID });
  });

  it.each([
    ['not base64url', 'garbage!!'],
    ['not JSON', Buffer.from('{t:1').toString('base64url')],
    ['an array', raw([1, ID])],
    ['an extra key', raw({ t: 1, id: ID, x: 1 })],
    ['an id of another format', raw({ t: 1, id: "' OR 1=1 --" })],
    ['a negative time', raw({ t: -1, id: ID })],
    ['a fractional time', raw({ t: 1.5, id: ID })],
    ['a time past year 9999', raw({ t: Date.parse('9999-12-31T23:59:59.999Z') + 1, id: ID })],
    ['a time given as a string', raw({ t: '2026-01-01', id: ID })],
    ['an over-long cursor', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
    ['an empty cursor', ''],
  ])('refuses %s with 400 VALIDATION_FAILED', (_name, cursor) => {
    const error = thrownBy(() => keyset.decode(cursor));
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).code).toBe('VALIDATION_FAILED');
    expect((error as AppException).extras.details).toEqual(['cursor is invalid']);
  });
});

class PageQuery {
  @PageLimit(100, 20)
  limit?: number;

  @PageCursor()
  cursor?: string;
}

/** As the global ValidationPipe (transform: true) sees a query string. */
async function check(query: Record<string, unknown>): Promise<{ limit: unknown; problems: string[] }> {
  const value = plainToInstance(PageQuery, query);
  const errors = await validate(value);
  return { limit: value.limit, problems: errors.flatMap((e) => Object.values(e.constraints ?? {})) };
}

describe('PageLimit', () => {
  it.each([
    ['1', 1],
    ['20', 20],
    ['100', 100],
  ])('takes %j as %i', async (limit, expected) => {
    await expect(check({ limit })).resolves.toEqual({ limit: expected, problems: [] });
  });

  it('is optional', async () => {
    await expect(check({})).resolves.toEqual({ limit: undefined, problems: [] });
  });

  it.each([
    '10abc',
    '1e1',
    ' 5',
    '5 ',
    '+5',
    '-1',
    '0',
    '010',
    '5.0',
    '0x10',
    '',
    '101',
    '99999999999999999999',
    'Infinity',
  ])('refuses %j with one stable line', async (limit) => {
    await expect(check({ limit })).resolves.toMatchObject({
      problems: ['limit must be an integer from 1 to 100, in plain digits'],
    });
  });

  it('refuses a repeated parameter (an array)', async () => {
    await expect(check({ limit: ['5', '6'] })).resolves.toMatchObject({
      problems: ['limit must be an integer from 1 to 100, in plain digits'],
    });
  });
});
