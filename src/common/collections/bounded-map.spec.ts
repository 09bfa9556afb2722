import { BoundedMap } from './bounded-map';

describe('BoundedMap', () => {
  it('holds at most its capacity; a new key drops the oldest', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1).set('b', 2).set('c', 3).set('d', 4);
    expect(map.size).toBe(3);
    expect(map.get('a')).toBeUndefined();
    expect([map.get('b'), map.get('c'), map.get('d')]).toEqual([2, 3, 4]);
  });

  it('setting a key again replaces its value without dropping another, and makes it the newest', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 10);
    expect(map.size).toBe(2);
    map.set('c', 3);
    // b was the oldest after a was set again.
    expect(map.has('b')).toBe(false);
    expect(map.get('a')).toBe(10);
  });

  it('a read does not reorder (oldest inserted goes first, however hot)', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    map.get('a');
    map.set('c', 3);
    expect(map.has('a')).toBe(false);
  });

  it('delete and clear free room', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.delete('a')).toBe(true);
    map.set('c', 3);
    expect(map.has('b')).toBe(true);
    map.clear();
    expect(map.size).toBe(0);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new BoundedMap(0)).toThrow(/capacity/);
  });

  it('deleteWhere frees room selectively (say, expired entries) before the oldest has to go', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1).set('b', 20).set('c', 3);
    expect(map.full).toBe(true);
    expect(map.deleteWhere((v) => v < 10)).toBe(2);
    expect(map.full).toBe(false);
    map.set('d', 4).set('e', 5);
    // b, now the oldest, kept its place until room ran out again.
    expect([...['b', 'd', 'e'].map((k) => map.has(k))]).toEqual([true, true, true]);
  });
});
