import type { Result } from 'ioredis';

/**
 * The Lua scripts of RedisKvStore, each one round trip. Every script touches one key (KEYS[1]) except CLAIM,
 * whose two keys the caller gives one hash tag, so a Cluster runs each on one slot.
 */

const INCREMENT_WITH_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** INCR, the window's expiry when the key is new, and the ms left: one round trip per rate-limit hit. */
const HIT = `
local v = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {v, t}`;

/** Compare-and-delete: a lock holder whose lease expired must not delete the next holder's lock. */
const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * SET NX with expiry, then what the caller needs next: the companion's value (created) or the key's own (not).
 * KEYS[1] and KEYS[2] share a hash tag, so a Cluster runs it on one slot.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {1, redis.call('GET', KEYS[2])} end
return {0, redis.call('GET', KEYS[1])}`;

/**
 * The scripts, as commands ioredis defines on the client (EVALSHA, EVAL once on NOSCRIPT). Not `eval()`: with
 * auto-pipelining in a Cluster, ioredis groups a command by its first argument, which for EVAL is the script's
 * text, not a key — so EVALs of keys on different nodes landed in one pipeline and were refused ("All keys in the
 * pipeline should belong to the same slots allocation group"). A defined command's first argument is its key.
 */
export const SCRIPTS = {
  kvIncrementWithTtl: { numberOfKeys: 1, lua: INCREMENT_WITH_TTL },
  kvHit: { numberOfKeys: 1, lua: HIT },
  kvDeleteIfEquals: { numberOfKeys: 1, lua: DELETE_IF_EQUALS },
  kvClaim: { numberOfKeys: 2, lua: CLAIM },
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    kvIncrementWithTtl(key: string, ttlMs: number, by: number): Result<number, Context>;
    kvHit(key: string, windowMs: number): Result<[number, number], Context>;
    kvDeleteIfEquals(key: string, value: string): Result<number, Context>;
    kvClaim(
      key: string,
      companion: string,
      value: string,
      ttlMs: number,
    ): Result<[created: number, value?: string | null], Context>;
  }
}
