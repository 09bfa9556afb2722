/**
 * A Map that holds at most `capacity` entries: setting a new key when full drops the oldest entry (in
 * insertion order; setting a key again makes it the newest). For per-instance memos that any client can
 * grow — one entry per user or per token — where the cost of a dropped entry is only a recomputation.
 *
 * Oldest-first rather than least-recently-used on purpose: a read does not reorder, so the hot path (one
 * lookup per request) stays a single Map read.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error('BoundedMap needs a capacity of at least 1');
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): this {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Drops every entry `drop` says to (expired ones, say) before the oldest has to go; how many went. */
  deleteWhere(drop: (value: V, key: K) => boolean): number {
    let dropped = 0;
    for (const [key, value] of this.entries) if (drop(value, key) && this.entries.delete(key)) dropped++;
    return dropped;
  }

  /** Whether a new key would drop the oldest entry. */
  get full(): boolean {
    return this.entries.size >= this.capacity;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
