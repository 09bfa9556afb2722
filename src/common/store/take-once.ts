import type { KvStore } from './kv-store';

/**
 * Reads and deletes a single-use value (a ticket): its value for the one caller whose compare-and-delete wins,
 * null for everyone else (absent, expired, already taken, or taken by a concurrent caller in between).
 */
export async function takeOnce(store: KvStore, key: string): Promise<string | null> {
  const value = await store.get(key);
  if (value === null || !(await store.deleteIfEquals(key, value))) return null;
  return value;
}
