import { decodeCursor, encodeCursor } from './audit-cursor';
import { EVENT_ID_PATTERN, EventIdFactory } from './event-id';

describe('event ids', () => {
  it('are ULIDs that sort by time, and by creation within one millisecond', () => {
    const ids = new EventIdFactory({ bytes: (n) => Buffer.alloc(n, 0xff) });
    const a = ids.next(Date.UTC(2026, 0, 1));
    const b = ids.next(Date.UTC(2026, 0, 1));
    const c = ids.next(Date.UTC(2026, 0, 1) + 1);
    for (const id of [a, b, c]) expect(id).toMatch(EVENT_ID_PATTERN);
    // All-ones randomness cannot be incremented: the factory draws again rather than overflow.
    expect(b.slice(0, 10)).toBe(a.slice(0, 10));
    expect(c > a).toBe(true);

    const real = new EventIdFactory({ bytes: (n) => Buffer.alloc(n, 7) });
    const same = Array.from({ length: 5 }, () => real.next(1_700_000_000_000));
    expect([...same].sort()).toEqual(same);
    expect(new Set(same).size).toBe(5);
  });

  it('encode the time in the first 10 characters (the ULID layout)', () => {
    const id = new EventIdFactory({ bytes: (n) => Buffer.alloc(n, 0) }).next(1_469_918_176_385);
    expect(id).toBe('01ARYZ6S41' + '0'.repeat(16));
  });
});

describe('audit cursor', () => {
  it('round-trips', () => {
    const cursor = { t: Date.UTC(2026, 5, 1, 0, 0, 0, 7), id: '01ARYZ6S410000000000000000' };
    const raw = encodeCursor(cursor);
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw)).toEqual(cursor);
  });
});
