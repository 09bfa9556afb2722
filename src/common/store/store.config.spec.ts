import { ConfigError } from '../../config/config-slice';
import { loadConfig } from '../../config/load-config';
import { UNIT_TEST_ENV } from '../../testing/test-config';

/** The problems loadConfig refuses this environment with (fails when it is accepted). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...UNIT_TEST_ENV, ...env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const SENTINEL_PASSWORD = 'sentinel-pa55-Zr81';
const REDIS_PASSWORD = 'redis-pa55-Kq42';

describe('store config: which Redis (REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)', () => {
  it('none set: no topology (the in-process store)', () => {
    const config = loadConfig(UNIT_TEST_ENV);
    expect(config.redis.topology).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
  });

  it('REDIS_URL: one server, url kept for its readers', () => {
    const config = loadConfig({ ...UNIT_TEST_ENV, REDIS_URL: 'redis://cache:6379/0' });
    expect(config.redis.topology).toEqual({ kind: 'single', url: 'redis://cache:6379/0' });
    expect(config.redis.url).toBe('redis://cache:6379/0');
  });

  it('REDIS_SENTINELS + REDIS_SENTINEL_MASTER (+ passwords): a Sentinel topology', () => {
    const config = loadConfig({
      ...UNIT_TEST_ENV,
      REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
      REDIS_PASSWORD: REDIS_PASSWORD,
    });
    expect(config.redis.url).toBeUndefined();
    expect(config.redis.topology).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'mymaster',
      password: REDIS_PASSWORD,
      sentinelPassword: SENTINEL_PASSWORD,
    });
  });

  it('REDIS_CLUSTER_NODES (+ REDIS_PASSWORD): a Cluster topology', () => {
    const config = loadConfig({
      ...UNIT_TEST_ENV,
      REDIS_CLUSTER_NODES: 'n1:7000,n2:7001',
      REDIS_PASSWORD: REDIS_PASSWORD,
    });
    expect(config.redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      password: REDIS_PASSWORD,
    });
  });

  it.each<[string, Record<string, string>, string[]]>([
    [
      'REDIS_URL and REDIS_SENTINELS',
      { REDIS_URL: 'redis://cache:6379', REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm' },
      ['set at most one of them (set: REDIS_URL, REDIS_SENTINELS)'],
    ],
    [
      'REDIS_URL and REDIS_CLUSTER_NODES',
      { REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'n1:7000' },
      ['set at most one of them (set: REDIS_URL, REDIS_CLUSTER_NODES)'],
    ],
    [
      'all three',
      {
        REDIS_URL: 'redis://cache:6379',
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_MASTER: 'm',
        REDIS_CLUSTER_NODES: 'n1:7000',
      },
      [
        'each name the Redis to use: set at most one of them (set: REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)',
      ],
    ],
    [
      'REDIS_SENTINELS without REDIS_SENTINEL_MASTER',
      { REDIS_SENTINELS: 's1:26379' },
      ['REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS'],
    ],
    [
      'REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD without REDIS_SENTINELS',
      {
        REDIS_SENTINEL_MASTER: 'm',
        REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
        REDIS_CLUSTER_NODES: 'n1:7000',
      },
      [
        'REDIS_SENTINEL_MASTER is only used with REDIS_SENTINELS',
        'REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS',
      ],
    ],
    [
      'REDIS_PASSWORD with REDIS_URL',
      { REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD: REDIS_PASSWORD },
      ['REDIS_PASSWORD is not used with REDIS_URL: put the password in the URL'],
    ],
    [
      'REDIS_PASSWORD alone',
      { REDIS_PASSWORD: REDIS_PASSWORD },
      ['REDIS_PASSWORD is only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES'],
    ],
    [
      'a port out of range',
      { REDIS_CLUSTER_NODES: 'n1:7000,n2:70000' },
      ['REDIS_CLUSTER_NODES: the port of n2:70000 must be from 1 to 65535'],
    ],
    [
      'a node listed twice',
      { REDIS_SENTINELS: 's1:26379,s1:26379', REDIS_SENTINEL_MASTER: 'm' },
      ['REDIS_SENTINELS lists s1:26379 twice'],
    ],
    [
      'every problem at once',
      {
        REDIS_URL: 'redis://cache:6379',
        REDIS_SENTINELS: 's1:0',
        REDIS_PASSWORD: REDIS_PASSWORD,
      },
      [
        'set at most one of them (set: REDIS_URL, REDIS_SENTINELS)',
        'REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS',
        'REDIS_SENTINELS: the port of s1:0 must be from 1 to 65535',
      ],
    ],
  ])('refuses %s, saying why', (_name, env, expected) => {
    const found = problems(env);
    expect(found).toHaveLength(expected.length);
    expected.forEach((start, i) => expect(found[i]).toContain(start));
    for (const p of found) expect(p).not.toMatch(new RegExp(`${SENTINEL_PASSWORD}|${REDIS_PASSWORD}`));
  });

  it.each<[string, Record<string, string>, string]>([
    ['a sentinel without a port', { REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS'],
    ['a URL instead of host:port', { REDIS_CLUSTER_NODES: 'redis://n1:7000' }, 'REDIS_CLUSTER_NODES'],
    ['an empty entry', { REDIS_CLUSTER_NODES: 'n1:7000,,n2:7001' }, 'REDIS_CLUSTER_NODES'],
    [
      'a master name with a space',
      { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'my master' },
      'REDIS_SENTINEL_MASTER',
    ],
  ])('refuses %s as unparsable', (_name, env, variable) => {
    expect(problems(env)).toEqual([expect.stringMatching(new RegExp(`^${variable} must be`))]);
  });
});
