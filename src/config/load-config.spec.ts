import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DATABASE_LIMITS } from './app-config';
import { ConfigError, databaseConfigFromEnv, loadConfig, SANDBOX_DEFAULT_APPID } from './load-config';
import { printable } from '../testing/printable-secret';
import { configProblems } from '../testing/test-config';

// What `openssl rand -base64 48` prints: production wants ≥ 256 bits of randomness.
const JWT_SECRET = 'q7Z1mW9xT4pL2vB8nR6cY3kD0sF5hJ1gA9eU7iO2Xb4Ne8Rk2Tw6Hy0Pj3Mv5Qz1Ls7';
// Production refuses low-entropy keys, so the fixture must look random.
const ENC_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 73 + 5) % 256)).toString('base64');
const DB_PASSWORD = 'db-pa55word';

/** Runs loadConfig expecting a ConfigError; returns its problems and message. */
function configError(raw: Record<string, string | undefined>): { problems: string[]; message: string } {
  try {
    loadConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.name).toBe('ConfigError');
    return { problems: err.problems, message: err.message };
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

/** Whether loadConfig accepts this environment (ConfigError → false). */
function accepted(raw: Record<string, string | undefined>): boolean {
  try {
    loadConfig(raw);
    return true;
  } catch (e) {
    if (e instanceof ConfigError) return false;
    throw e;
  }
}

describe('loadConfig', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'load-config-spec-'));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const production = (
    overrides: Record<string, string | undefined> = {},
  ): Record<string, string | undefined> => ({
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    JWT_SECRET,
    SESSION_KEY_ENCRYPTION_KEY: ENC_KEY,
    WECHAT_APPID: 'wxprod',
    WECHAT_SECRET: 'prod-wechat-secret',
    DATABASE_URL: `mysql://app:${DB_PASSWORD}@db.internal:3306/app`,
    PUBLIC_URL: 'https://auth.example.com',
    ...overrides,
  });

  const testEnv = (
    overrides: Record<string, string | undefined> = {},
  ): Record<string, string | undefined> => ({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...overrides,
  });

  describe('production', () => {
    it('loads a complete configuration', () => {
      const config = loadConfig(production());
      expect(config.env).toBe('production');
      expect(config.jwt.secret!.export().toString('utf8')).toBe(JWT_SECRET);
      // Only JWT_SECRET set: HS256 signs, as before, with a kid that says nothing about the secret.
      expect(config.jwt.keys.map((k) => [k.alg, k.source])).toEqual([['HS256', 'secret']]);
      expect(config.jwt.keys[0].kid).toMatch(/^hs256-[A-Za-z0-9_-]{22}$/);
      expect(config.sessionKeyEncryptionKey).toEqual(Buffer.from(ENC_KEY, 'base64'));
      expect(config.wechat).toMatchObject({
        sandbox: false,
        defaultAppid: 'wxprod',
        apiBase: 'https://api.weixin.qq.com',
      });
      expect(config.wechat.apps.get('wxprod')).toEqual({ appid: 'wxprod', secret: 'prod-wechat-secret' });
      expect(config.logLevel).toBe('info');
      expect(config.publicUrl).toBe('https://auth.example.com');
      expect(config.warnings).toEqual([]);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
    ])('refuses a %s JWT_SECRET (without JWT_PRIVATE_KEYS)', (_, value) => {
      expect(configError(production({ JWT_SECRET: value })).problems).toContain(
        'JWT_PRIVATE_KEYS (an EC P-256, RSA ≥ 2048 or Ed25519 PEM private key) or JWT_SECRET (at least 32 random ' +
          'bytes) is required in production',
      );
    });

    it('refuses a JWT_SECRET shorter than 32 bytes without echoing it', () => {
      const secret = 'only-31-bytes-of-secret-here!!!';
      expect(Buffer.byteLength(secret)).toBe(31);
      const { problems, message } = configError(production({ JWT_SECRET: secret }));
      expect(problems).toEqual(['JWT_SECRET must be at least 32 bytes']);
      expect(message).not.toContain(secret);
    });

    const WEAK = (reason: string): string =>
      `JWT_SECRET is too weak for production (${reason}): use at least 32 random bytes, ` +
      'e.g. `openssl rand -base64 48` (or `openssl rand -hex 32`)';

    // Each value started in production before; each now refuses, saying why and never echoing it. Some were
    // found when tried from outside (all ≥ 32 bytes, all accepted before); the others are long enough for
    // their alphabet and still not random, one rule each.
    const refusedFor = (reason: string, secrets: string[]): Array<[string, string]> =>
      secrets.map((secret) => [secret, reason]);
    it.each([
      ...refusedFor('less than 256 bits of randomness', [
        'passwordpasswordpasswordpassword',
        '0123456789abcdef0123456789abcdef',
        'abcdefghijklmnopqrstuvwxyz012345',
        'your-256-bit-secret-your-256-bit',
        'mysecretmysecretmysecretmysecret',
        '12345678901234567890123456789012',
        'todo-replace-this-before-deploy!!',
        'x'.repeat(40),
        '7'.repeat(76),
        'changeme-changeme-changeme-changeme-1234',
        'example-jwt-secret-that-is-long-enough-too',
      ]),
      ...refusedFor('it repeats itself', [
        'password'.repeat(8),
        '0123456789abcdef'.repeat(4),
        'mysecret'.repeat(8),
        'your-256-bit-secret-'.repeat(3),
        'todo-replace-this-before-deploy!!'.repeat(2),
        'correct horse battery staple correct horse battery',
        'x'.repeat(64),
        '7'.repeat(80),
      ]),
      ...refusedFor('it contains a run or sequence', [
        'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_',
        'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA' + '123456' + 'eRuIo7Xb4Ne8Rk',
        'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA' + 'zzzzzz' + 'eRuIo7Xb4Ne8Rk',
        '3f9c0a7d1e5b8f2a6c4d09e7b1a3f5c8' + '01234567' + '9d2e4f6a8b0c1d3e5f7a9c2b',
      ]),
      ...refusedFor('it contains a common word', [
        'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sAPasswordeRuIo7Xb4Ne8Rk',
        'Zr8vQ2pL9xW4mN7bK1cT-my-secret-y3jF5gD0sAeRuIo7Xb4Ne8Rk',
        'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA-CHANGEME-eRuIo7Xb4Ne8',
      ]),
      ...refusedFor('it does not mix upper- and lower-case letters', [
        'correcthorsebatterystapleontherooftopwithmyfriends',
      ]),
      ...refusedFor('it uses too few distinct characters', [
        'ABABABAB01010101CDCDCDCD23232323EFEFEFEF45454545GHGHijij',
      ]),
    ])('refuses the weak JWT_SECRET %s, saying why and not echoing it', (secret, reason) => {
      const { problems, message } = configError(production({ JWT_SECRET: secret }));
      expect(problems).toEqual([WEAK(reason)]);
      expect(message).not.toContain(secret);
    });

    // Real generators' output must never be refused: many samples of each encoding.
    it.each([
      ['openssl rand -base64 48', () => randomBytes(48).toString('base64')],
      ['openssl rand -base64 32', () => randomBytes(32).toString('base64')],
      ['base64url of 32 bytes', () => randomBytes(32).toString('base64url')],
      ['base64url of 48 bytes (the development default)', () => randomBytes(48).toString('base64url')],
      ['openssl rand -hex 32', () => randomBytes(32).toString('hex')],
      ['upper-case hex of 32 bytes', () => randomBytes(32).toString('hex').toUpperCase()],
      ['a password manager’s 48 printable characters', () => printable(48)],
    ])('accepts real random secrets: %s', (_name, generate) => {
      for (let i = 0; i < 300; i++) {
        const secret = generate();
        expect({ secret, ok: accepted(production({ JWT_SECRET: secret })) }).toEqual({ secret, ok: true });
      }
    });

    it('checks the entropy in production only (development keeps the 32-byte floor)', () => {
      expect(loadConfig(testEnv({ JWT_SECRET: 'passwordpasswordpasswordpassword' })).env).toBe('test');
    });

    it('refuses a missing SESSION_KEY_ENCRYPTION_KEY', () => {
      expect(configError(production({ SESSION_KEY_ENCRYPTION_KEY: undefined })).problems).toEqual([
        'SESSION_KEY_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)',
      ]);
    });

    it('refuses a SESSION_KEY_ENCRYPTION_KEY that is not 32 bytes, without echoing it', () => {
      const key = Buffer.alloc(16, 1).toString('base64');
      const { problems, message } = configError(production({ SESSION_KEY_ENCRYPTION_KEY: key }));
      expect(problems).toEqual([
        'SESSION_KEY_ENCRYPTION_KEY must be 32 bytes, as base64 (44 chars) or hex (64 chars)',
      ]);
      expect(message).not.toContain(key);
    });

    it('accepts a hex SESSION_KEY_ENCRYPTION_KEY', () => {
      const hex = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 3) % 256)).toString('hex');
      expect(loadConfig(production({ SESSION_KEY_ENCRYPTION_KEY: hex })).sessionKeyEncryptionKey).toEqual(
        Buffer.from(hex, 'hex'),
      );
    });

    it.each(['http://api.weixin.qq.com', 'http://10.0.0.5:8080/wx', 'http://127.0.0.1.evil.example'])(
      'refuses a cleartext WECHAT_API_BASE (%s): the AppSecret is a query parameter',
      (base) => {
        const { problems } = configError(production({ WECHAT_API_BASE: base }));
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^WECHAT_API_BASE must be https:\/\/ in production/);
      },
    );

    it.each([
      ['https://api.weixin.qq.com', {}],
      ['http://127.0.0.1:9000', {}],
      ['http://localhost:9000/wx', {}],
      ['http://[::1]:9000', {}],
      ['http://egress-proxy.internal', { WECHAT_ALLOW_INSECURE_API_BASE: 'true' }],
    ])('accepts WECHAT_API_BASE %s (https, loopback, or the explicit opt-out)', (base, extra) => {
      expect(loadConfig(production({ WECHAT_API_BASE: base, ...extra })).wechat.apiBase).toBe(base);
    });

    it('refuses WECHAT_SANDBOX=true', () => {
      expect(configError(production({ WECHAT_SANDBOX: 'true' })).problems).toEqual([
        'WECHAT_SANDBOX cannot be enabled when NODE_ENV=production',
      ]);
    });

    it('requires real WeChat credentials (the sandbox is not a production default)', () => {
      expect(configError(production({ WECHAT_SECRET: undefined })).problems).toEqual([
        'WECHAT_APPID and WECHAT_SECRET are required unless WECHAT_SANDBOX=true',
      ]);
    });

    it('lists every problem at once and never a secret value', () => {
      const shortSecret = 'too-short-jwt';
      const badKey = 'bm90LWEta2V5';
      const { problems, message } = configError({
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        JWT_SECRET: shortSecret,
        SESSION_KEY_ENCRYPTION_KEY: badKey,
        WECHAT_SANDBOX: 'true',
        DATABASE_URL: `mysql://app:${DB_PASSWORD}@db.internal:99999/app`,
      });
      expect(problems).toEqual([
        'JWT_SECRET must be at least 32 bytes',
        'PUBLIC_URL is required in production: the https origin partners reach this service at, e.g. ' +
          'https://auth.example.com (the issuer and links of /.well-known/oauth-authorization-server)',
        'SESSION_KEY_ENCRYPTION_KEY must be 32 bytes, as base64 (44 chars) or hex (64 chars)',
        'WECHAT_SANDBOX cannot be enabled when NODE_ENV=production',
        'DATABASE_URL is not a valid URL',
      ]);
      for (const value of [shortSecret, badKey, DB_PASSWORD, 'sandbox-secret-not-for-production']) {
        expect(message).not.toContain(value);
      }
    });

    it('never enables synchronize, even when asked', () => {
      expect(loadConfig(production(), { synchronize: true }).database.synchronize).toBe(false);
    });
  });

  describe('defaults', () => {
    it('uses port 3000, the standard TTLs and a SQLite file under DATA_DIR', () => {
      const config = loadConfig(testEnv());
      expect(config.port).toBe(3000);
      // No WECHAT_SECRET outside production → sandbox → loopback only.
      expect(config.host).toBe('127.0.0.1');
      expect(config.dataDir).toBe(dataDir);
      expect(config.jwt).toMatchObject({
        issuer: 'wechat-auth',
        audience: 'miniprogram',
        accessTtlSeconds: 900,
        refreshTtlSeconds: 2_592_000,
      });
      expect(config.database).toEqual({
        type: 'better-sqlite3',
        sqlitePath: join(dataDir, 'app.sqlite'),
        migrateOnStart: true,
        synchronize: false,
        limits: { poolSize: 10, acquireTimeoutMs: 2000, queueLimit: 100, queryTimeoutMs: 3000 },
      });
      expect(config.logLevel).toBe('silent');
      expect(config.redis).toEqual({ url: undefined, keyPrefix: 'wxauth:', outageGraceSeconds: 30 });
      expect(config.loginRateLimitPerMinute).toBe(30);
    });

    it('generates ephemeral secrets in test (an ES256 signing key), writing nothing to DATA_DIR', () => {
      const a = loadConfig(testEnv());
      const b = loadConfig(testEnv());
      expect(a.sessionKeyEncryptionKey).toHaveLength(32);
      expect(a.jwt.secret).toBeUndefined();
      expect(a.jwt.keys.map((k) => k.alg)).toEqual(['ES256']);
      expect(a.jwt.keys[0].kid).not.toBe(b.jwt.keys[0].kid);
      expect(() => statSync(join(dataDir, 'dev-secrets.json'))).toThrow();
      expect(() => statSync(join(dataDir, 'dev-jwt-key.pem'))).toThrow();
    });

    it('parses numbers and booleans from strings', () => {
      const config = loadConfig(
        testEnv({
          PORT: '8080',
          ACCESS_TOKEN_TTL: '60',
          REFRESH_TOKEN_TTL: '86400',
          DB_MIGRATE_ON_START: 'off',
        }),
      );
      expect(config.port).toBe(8080);
      expect(config.jwt.accessTtlSeconds).toBe(60);
      expect(config.jwt.refreshTtlSeconds).toBe(86400);
      expect(config.database.migrateOnStart).toBe(false);
    });

    it.each([
      [undefined, false],
      ['false', false],
      ['true', true],
      ['1', 1],
      ['10.0.0.0/8, 192.168.1.5', ['10.0.0.0/8', '192.168.1.5']],
    ])('TRUST_PROXY=%s → %j', (value, expected) => {
      expect(loadConfig(testEnv({ TRUST_PROXY: value })).trustProxy).toEqual(expected);
    });

    it('refuses a TRUST_PROXY that is not true/false/hops/addresses', () => {
      expect(() => loadConfig(testEnv({ TRUST_PROXY: 'yes please' }))).toThrow(/TRUST_PROXY/);
    });

    it('binds to loopback by default when the sandbox is on, to all interfaces otherwise', () => {
      expect(loadConfig(testEnv({ WECHAT_SANDBOX: 'true' })).host).toBe('127.0.0.1');
      expect(loadConfig(testEnv({ WECHAT_SANDBOX: 'true', HOST: '0.0.0.0' })).host).toBe('0.0.0.0');
      const real = { WECHAT_SANDBOX: 'false', WECHAT_APPID: 'wx1', WECHAT_SECRET: 's' };
      expect(loadConfig(testEnv(real)).host).toBe('0.0.0.0');
    });

    it('lets tests ask for synchronize', () => {
      expect(loadConfig(testEnv(), { synchronize: true }).database.synchronize).toBe(true);
    });
  });

  describe('DATABASE_URL', () => {
    it('parses mysql:// into its parts, decoding user and password', () => {
      const config = loadConfig(
        testEnv({ DATABASE_URL: 'mysql://app%2Buser:p%40ss%3Aword@db.example:3307/auth' }),
      );
      expect(config.database).toEqual({
        type: 'mysql',
        host: 'db.example',
        port: 3307,
        username: 'app+user',
        password: 'p@ss:word',
        database: 'auth',
        migrateOnStart: true,
        synchronize: false,
        limits: DEFAULT_DATABASE_LIMITS,
      });
    });

    it('parses mariadb:// with the default port', () => {
      expect(loadConfig(testEnv({ DATABASE_URL: 'mariadb://root:pw@127.0.0.1/app' })).database).toMatchObject(
        {
          type: 'mariadb',
          host: '127.0.0.1',
          port: 3306,
          username: 'root',
          password: 'pw',
          database: 'app',
        },
      );
    });

    it('parses sqlite: paths, including :memory:', () => {
      expect(loadConfig(testEnv({ DATABASE_URL: 'sqlite::memory:' })).database).toMatchObject({
        type: 'better-sqlite3',
        sqlitePath: ':memory:',
      });
      const file = join(dataDir, 'x.sqlite');
      expect(loadConfig(testEnv({ DATABASE_URL: `sqlite://${file}` })).database.sqlitePath).toBe(file);
    });

    it('requires a database name', () => {
      expect(configError(testEnv({ DATABASE_URL: 'mysql://app:pw@db:3306' })).problems).toEqual([
        'DATABASE_URL must name a database, e.g. mysql://user:pass@host:3306/app',
      ]);
    });

    it('refuses other schemes', () => {
      expect(configError(testEnv({ DATABASE_URL: 'postgres://u:p@h/db' })).problems).toEqual([
        'DATABASE_URL must start with sqlite:, mysql:// or mariadb://',
      ]);
    });
  });

  describe('database pool and deadlines', () => {
    const mysql = { DATABASE_URL: 'mariadb://app:pw@db:3306/app' };

    it('reads DB_POOL_SIZE, DB_POOL_ACQUIRE_TIMEOUT_MS, DB_POOL_QUEUE_LIMIT and DB_QUERY_TIMEOUT_MS', () => {
      const config = loadConfig(
        testEnv({
          ...mysql,
          DB_POOL_SIZE: '4',
          DB_POOL_ACQUIRE_TIMEOUT_MS: '750',
          DB_POOL_QUEUE_LIMIT: '0',
          DB_QUERY_TIMEOUT_MS: '1500',
        }),
      );
      expect(config.database.limits).toEqual({
        poolSize: 4,
        acquireTimeoutMs: 750,
        queueLimit: 0,
        queryTimeoutMs: 1500,
      });
      expect(config.warnings).toEqual([]);
    });

    it('defaults to a pool of 10, 2 s to get a connection, 100 waiting, 3 s a query', () => {
      expect(loadConfig(testEnv(mysql)).database.limits).toEqual({
        poolSize: 10,
        acquireTimeoutMs: 2000,
        queueLimit: 100,
        queryTimeoutMs: 3000,
      });
    });

    it.each([
      ['DB_POOL_SIZE', '0', 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000'],
      ['DB_POOL_SIZE', '1001', 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000'],
      ['DB_POOL_SIZE', 'ten', 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000'],
      ['DB_POOL_SIZE', '2.5', 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000'],
      [
        'DB_POOL_ACQUIRE_TIMEOUT_MS',
        '49',
        'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000',
      ],
      [
        'DB_POOL_ACQUIRE_TIMEOUT_MS',
        '60001',
        'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000',
      ],
      [
        'DB_POOL_ACQUIRE_TIMEOUT_MS',
        '2s',
        'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000',
      ],
      ['DB_POOL_QUEUE_LIMIT', '-1', 'DB_POOL_QUEUE_LIMIT must be a whole number from 0 to 100000'],
      ['DB_POOL_QUEUE_LIMIT', '100001', 'DB_POOL_QUEUE_LIMIT must be a whole number from 0 to 100000'],
      ['DB_QUERY_TIMEOUT_MS', '0', 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000'],
      ['DB_QUERY_TIMEOUT_MS', '99', 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000'],
      ['DB_QUERY_TIMEOUT_MS', '600001', 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000'],
    ])('refuses %s=%s with one clear problem', (name, value, problem) => {
      expect(configError(testEnv({ ...mysql, [name]: value })).problems).toEqual([problem]);
    });

    it('lists every invalid one at once', () => {
      const { problems } = configError(
        testEnv({ ...mysql, DB_POOL_SIZE: '0', DB_POOL_ACQUIRE_TIMEOUT_MS: '1', DB_QUERY_TIMEOUT_MS: 'x' }),
      );
      expect(problems).toEqual([
        'DB_POOL_SIZE must be a whole number of connections from 1 to 1000',
        'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000',
        'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000',
      ]);
    });

    it('warns that they do nothing on SQLite', () => {
      const config = loadConfig(testEnv({ DB_POOL_SIZE: '4' }));
      expect(config.warnings).toEqual([
        'DB_POOL_SIZE, DB_POOL_ACQUIRE_TIMEOUT_MS, DB_POOL_QUEUE_LIMIT, DB_QUERY_TIMEOUT_MS apply to MySQL/MariaDB only: ignored with SQLite',
      ]);
    });

    it('the migration CLI keeps the pool bounds but sets no query deadline (a migration may rebuild a table)', () => {
      expect(
        databaseConfigFromEnv({ ...mysql, DB_POOL_SIZE: '3', DB_QUERY_TIMEOUT_MS: '1000' }).limits,
      ).toEqual({ poolSize: 3, acquireTimeoutMs: 2000, queueLimit: 100, queryTimeoutMs: 0 });
    });
  });

  describe('development', () => {
    it('turns the sandbox on when no WECHAT_SECRET is set', () => {
      const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir, PORT: '4000' });
      expect(config.wechat).toMatchObject({
        sandbox: true,
        defaultAppid: SANDBOX_DEFAULT_APPID,
        apiBase: 'http://127.0.0.1:4000/sandbox/wechat',
      });
      expect(config.wechat.apps.has(SANDBOX_DEFAULT_APPID)).toBe(true);
    });

    it('is the default NODE_ENV', () => {
      expect(loadConfig({ DATA_DIR: dataDir }).env).toBe('development');
    });

    it('keeps the sandbox off with real credentials', () => {
      const config = loadConfig({
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        WECHAT_APPID: 'wxreal',
        WECHAT_SECRET: 'real-secret',
      });
      expect(config.wechat).toMatchObject({ sandbox: false, apiBase: 'https://api.weixin.qq.com' });
    });

    it('generates secrets once into DATA_DIR (dev-secrets.json and an ES256 dev-jwt-key.pem, mode 0600) and reuses them', () => {
      const dir = join(dataDir, 'not-yet-created');
      const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      const file = join(dir, 'dev-secrets.json');
      const keyFile = join(dir, 'dev-jwt-key.pem');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { sessionKeyEncryptionKey: string };
      const pem = readFileSync(keyFile, 'utf8');
      expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
      expect(first.jwt.secret).toBeUndefined();
      expect(first.jwt.keys.map((k) => [k.alg, k.source])).toEqual([['ES256', 'private-key']]);
      expect(first.sessionKeyEncryptionKey).toEqual(Buffer.from(stored.sessionKeyEncryptionKey, 'base64'));

      const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      expect(second.jwt.keys[0].kid).toBe(first.jwt.keys[0].kid);
      expect(second.sessionKeyEncryptionKey).toEqual(first.sessionKeyEncryptionKey);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(stored);
      expect(readFileSync(keyFile, 'utf8')).toBe(pem);

      // The start-up warnings say where the secrets are, never what they are.
      const warnings = second.warnings.join('\n');
      expect(warnings).toContain(dir);
      expect(warnings).toContain('ES256');
      expect(warnings).not.toContain(stored.sessionKeyEncryptionKey);
      expect(warnings).not.toContain('PRIVATE KEY');
    });

    it('still reads a dev-secrets.json of an earlier version (with its now unused jwtSecret)', () => {
      const dir = join(dataDir, 'old');
      const enc = randomBytes(32).toString('base64');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'dev-secrets.json'),
        JSON.stringify({ jwtSecret: 'x'.repeat(64), sessionKeyEncryptionKey: enc }),
      );
      const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      expect(config.sessionKeyEncryptionKey).toEqual(Buffer.from(enc, 'base64'));
      expect(config.jwt.keys.map((k) => k.alg)).toEqual(['ES256']);
    });

    it('prefers secrets from the environment over generated ones', () => {
      const config = loadConfig({
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        JWT_SECRET,
        SESSION_KEY_ENCRYPTION_KEY: ENC_KEY,
      });
      expect(config.jwt.secret!.export().toString('utf8')).toBe(JWT_SECRET);
      expect(config.sessionKeyEncryptionKey).toEqual(Buffer.from(ENC_KEY, 'base64'));
      expect(() => statSync(join(dataDir, 'dev-secrets.json'))).toThrow();
      expect(() => statSync(join(dataDir, 'dev-jwt-key.pem'))).toThrow();
    });
  });

  describe('WECHAT_APPS', () => {
    it('adds appid:secret pairs next to the default app', () => {
      const config = loadConfig(
        testEnv({ WECHAT_APPID: 'wxdefault', WECHAT_SECRET: 's0', WECHAT_APPS: ' wxa:sa , wxb:s:b ' }),
      );
      expect(config.wechat.defaultAppid).toBe('wxdefault');
      expect([...config.wechat.apps.values()]).toEqual([
        { appid: 'wxdefault', secret: 's0' },
        { appid: 'wxa', secret: 'sa' },
        { appid: 'wxb', secret: 's:b' },
      ]);
    });

    it('lets WECHAT_APPS override the default app’s secret', () => {
      const config = loadConfig(
        testEnv({ WECHAT_APPID: 'wxdefault', WECHAT_SECRET: 's0', WECHAT_APPS: 'wxdefault:s1' }),
      );
      expect(config.wechat.apps.get('wxdefault')).toEqual({ appid: 'wxdefault', secret: 's1' });
      expect(config.wechat.apps.size).toBe(1);
    });

    it('refuses a malformed list without echoing it', () => {
      const { problems, message } = configError(testEnv({ WECHAT_APPS: 'wxa:secret-a,wxb' }));
      expect(problems).toEqual(['WECHAT_APPS must be a comma-separated list of appid:secret']);
      expect(message).not.toContain('secret-a');
    });
  });

  describe('invalid values', () => {
    it('refuses PORT=abc', () => {
      const { problems } = configError(testEnv({ PORT: 'abc' }));
      expect(problems).toContain('PORT must be an integer number');
    });

    it('lists every invalid variable', () => {
      const { problems, message } = configError(
        testEnv({ PORT: '70000', LOG_LEVEL: 'loud', ACCESS_TOKEN_TTL: '5', REDIS_URL: 'http://cache' }),
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          'PORT must not be greater than 65535',
          expect.stringContaining('LOG_LEVEL'),
          'ACCESS_TOKEN_TTL must not be less than 30',
          'REDIS_URL must start with redis:// or rediss://',
        ]),
      );
      expect(message).toMatch(/^Invalid configuration:\n - /);
    });

    it('refuses an unparsable DATABASE_URL without echoing its password', () => {
      const { problems, message } = configError(
        testEnv({ DATABASE_URL: `mysql://app:${DB_PASSWORD}@db host/app` }),
      );
      expect(problems).toEqual(['DATABASE_URL is not a valid URL']);
      expect(message).not.toContain(DB_PASSWORD);
    });
  });
});

describe('loadConfig: weak session-key encryption key', () => {
  const prod = {
    NODE_ENV: 'production',
    JWT_SECRET: 'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA+eR/uIo7Xb4Ne8Rk2Tw6Hy0Pj3Mv5Q=',
    WECHAT_APPID: 'wx1234567890abcdef',
    WECHAT_SECRET: 'real-secret',
    PUBLIC_URL: 'https://auth.example.com',
  };

  it.each([
    ['32 zero bytes (hex)', '0'.repeat(64)],
    ['repeated base64 character', `${'A'.repeat(43)}=`],
  ])('refuses %s in production', (_name, key) => {
    expect(() => loadConfig({ ...prod, SESSION_KEY_ENCRYPTION_KEY: key })).toThrow(
      /SESSION_KEY_ENCRYPTION_KEY looks like a placeholder/,
    );
  });

  it('accepts a random key in production', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
    expect(loadConfig({ ...prod, SESSION_KEY_ENCRYPTION_KEY: key }).sessionKeyEncryptionKey).toHaveLength(32);
  });
});

/** The problems loadConfig refuses this environment for (none: accepted). */
function problemsOf(raw: Record<string, string | undefined>): string[] {
  return configProblems(() => loadConfig(raw));
}

/** Production but for the signing key and PUBLIC_URL, which the suites below are about. */
const PROD_BASE = {
  NODE_ENV: 'production',
  SESSION_KEY_ENCRYPTION_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString(
    'base64',
  ),
  WECHAT_APPID: 'wx1234567890abcdef',
  WECHAT_SECRET: 'real-secret',
  DATABASE_URL: 'sqlite::memory:',
};

describe('loadConfig: signing keys, retired secrets and service clients (issue 10)', () => {
  const pem = (k: import('node:crypto').KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const PROD = { ...PROD_BASE, PUBLIC_URL: 'https://auth.example.com' };
  const STRONG = JWT_SECRET;

  it('production with JWT_PRIVATE_KEYS only: the first key signs, no HS256 anywhere', () => {
    const config = loadConfig({ ...PROD, JWT_PRIVATE_KEYS: pem(ec.privateKey) + pem(rsa.privateKey) });
    expect(config.jwt.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    expect(config.jwt.secret).toBeUndefined();
  });

  it('production refuses no key and no secret, a weak RSA key, and a weak JWT_SECRET next to a good key', () => {
    expect(problemsOf(PROD).join()).toMatch(/JWT_PRIVATE_KEYS .* or JWT_SECRET .* is required in production/);
    const weak = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    const problems = problemsOf({ ...PROD, JWT_PRIVATE_KEYS: weak });
    expect(problems).toEqual([
      'JWT_PRIVATE_KEYS key #1 is a 1024-bit RSA key: RS256 needs at least 2048 bits',
    ]);
    expect(problems.join()).not.toContain(weak.split('\n')[1]);
    expect(
      problemsOf({
        ...PROD,
        JWT_PRIVATE_KEYS: pem(ec.privateKey),
        JWT_SECRET: 'passwordpasswordpasswordpassword1',
      }),
    ).toEqual([expect.stringMatching(/^JWT_SECRET is too weak for production/)]);
  });

  it('JWT_SECRET first, then JWT_PREVIOUS_SECRETS (each held to the same rules), never printed', () => {
    const previous = 'Hq3Lw8Zp1Xv6Tn4Rb9Ym2Kc7Jd5Gf0Se3Ua8Io1Pz6Wx4Nr9Bt2Vk7Mh5Cl0Dj3Fy8';
    const config = loadConfig({ ...PROD, JWT_SECRET: STRONG, JWT_PREVIOUS_SECRETS: previous });
    expect(config.jwt.keys.map((k) => [k.alg, k.source])).toEqual([
      ['HS256', 'secret'],
      ['HS256', 'previous-secret'],
    ]);
    const problems = problemsOf({
      ...PROD,
      JWT_SECRET: STRONG,
      JWT_PREVIOUS_SECRETS: `${previous},short-one,${STRONG}`,
    });
    expect(problems).toEqual([
      'JWT_PREVIOUS_SECRETS entry #2 must be at least 32 bytes',
      'the same JWT key or secret is configured twice (JWT_SECRET / JWT_PREVIOUS_SECRETS)',
    ]);
    expect(
      problemsOf({
        ...PROD,
        JWT_SECRET: STRONG,
        JWT_PREVIOUS_SECRETS: 'changeme-changeme-changeme-changeme',
      }),
    ).toEqual([expect.stringMatching(/^JWT_PREVIOUS_SECRETS entry #1 is too weak for production/)]);
  });

  it.each(['a'.repeat(40), 'passwordpasswordpasswordpassword12', 'Xk9mQ2vL7pR4wT8nB1cY6hJ3dF0sG5aZ'])(
    'SERVICE_CLIENTS: production refuses a weak secret (%s) with the reason, never the value',
    (weak) => {
      const problems = problemsOf({ ...PROD, JWT_SECRET: STRONG, SERVICE_CLIENTS: `orders:${weak}` });
      expect(problems).toEqual([
        expect.stringMatching(/^SERVICE_CLIENTS: the secret of "orders" is too weak for production \(/),
      ]);
      expect(problems.join()).not.toContain(weak);
    },
  );

  it('SERVICE_CLIENTS: id:secret pairs; production wants ≥ 32-character secrets; never echoed', () => {
    // What `openssl rand -base64 32` gives.
    const secret = 'Xk9mQ2vL7pR4wT8nB1cY6hJ3dF0sG5aZu7Ew2Nq+8Tr1Vb4=';
    const config = loadConfig({
      ...PROD,
      JWT_SECRET: STRONG,
      SERVICE_CLIENTS: `orders:${secret},crm:${secret}9`,
      WECHAT_TOKEN_CLIENTS: 'crm',
    });
    expect(config.serviceClients.clients.get('orders')).toEqual({ id: 'orders', secret });
    expect([...config.serviceClients.wechatTokenClients]).toEqual(['crm']);
    expect(config.serviceClients.rateLimitPerMinute).toBe(600);
    const problems = problemsOf({ ...PROD, JWT_SECRET: STRONG, SERVICE_CLIENTS: 'orders:short-secret-here' });
    expect(problems).toEqual([
      'SERVICE_CLIENTS: the secret of "orders" must be at least 32 characters in production',
    ]);
    // Outside production a short secret is fine (local partners, tests).
    expect(
      loadConfig({ NODE_ENV: 'test', SERVICE_CLIENTS: 'orders:short' }).serviceClients.clients.size,
    ).toBe(1);
    const { message } = (() => {
      try {
        loadConfig({ ...PROD, JWT_SECRET: STRONG, SERVICE_CLIENTS: 'orders:short-secret-here,orders:x' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(message).toContain('SERVICE_CLIENTS lists the client "orders" twice');
    expect(message).not.toContain('short-secret-here');
  });

  it('WECHAT_TOKEN_CLIENTS must name SERVICE_CLIENTS; malformed lists are refused without echo', () => {
    expect(problemsOf({ NODE_ENV: 'test', SERVICE_CLIENTS: 'a:b', WECHAT_TOKEN_CLIENTS: 'a,c' })).toEqual([
      'WECHAT_TOKEN_CLIENTS names "c", which is not in SERVICE_CLIENTS',
    ]);
    const problems = problemsOf({ NODE_ENV: 'test', SERVICE_CLIENTS: 'no-secret-here' });
    expect(problems).toEqual([
      'SERVICE_CLIENTS must be a comma-separated list of id:secret (ids of [A-Za-z0-9_.-])',
    ]);
  });

  it('PUBLIC_URL: an origin, normalised (trailing slash, default port and upper-case host dropped)', () => {
    expect(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://auth.example.com/' }).publicUrl).toBe(
      'https://auth.example.com',
    );
    expect(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://Auth.Example.com:443' }).publicUrl).toBe(
      'https://auth.example.com',
    );
    expect(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'http://127.0.0.1:3000' }).publicUrl).toBe(
      'http://127.0.0.1:3000',
    );
    expect(loadConfig({ NODE_ENV: 'test' }).publicUrl).toBeUndefined();
  });

  // RFC 8414 §3: the metadata of an issuer with a path lives at /.well-known/oauth-authorization-server/<path>
  // on the host root, which a path-prefix proxy does not send here; query, fragment and credentials are not
  // allowed in an issuer at all (§2).
  it.each([
    'auth.example.com',
    'https://example.com/auth',
    'https://auth.example.com/?x=1',
    'https://auth.example.com#frag',
    'https://user:pass@auth.example.com',
    'ftp://auth.example.com',
  ])('PUBLIC_URL %s is refused in every environment', (url) => {
    for (const env of [{ NODE_ENV: 'test' }, { ...PROD, JWT_SECRET: STRONG }])
      expect(problemsOf({ ...env, PUBLIC_URL: url })).toEqual([
        'PUBLIC_URL must be an origin like https://auth.example.com (scheme, host, optional port; no path, ' +
          'query, fragment or credentials)',
      ]);
  });
});

describe('loadConfig: PUBLIC_URL in production (issue 19 item 11)', () => {
  const PROD = { ...PROD_BASE, JWT_SECRET };

  it('is required: without it the metadata could only come from the Host header', () => {
    expect(problemsOf(PROD)).toEqual([
      'PUBLIC_URL is required in production: the https origin partners reach this service at, e.g. ' +
        'https://auth.example.com (the issuer and links of /.well-known/oauth-authorization-server)',
    ]);
  });

  it.each(['http://auth.example.com', 'http://10.0.0.5:8080', 'http://127.0.0.1.evil.example'])(
    'must be https (RFC 8414 issuer): %s is refused',
    (url) => {
      expect(problemsOf({ ...PROD, PUBLIC_URL: url })).toEqual([
        'PUBLIC_URL must be https:// in production (RFC 8414 issuer); only a loopback host may use http://',
      ]);
    },
  );

  it.each([
    ['https://auth.example.com', 'https://auth.example.com'],
    ['https://auth.example.com:8443/', 'https://auth.example.com:8443'],
    // A local run of the production build (the benchmark) on loopback.
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['http://localhost:3000', 'http://localhost:3000'],
  ])('accepts %s', (url, origin) => {
    expect(loadConfig({ ...PROD, PUBLIC_URL: url }).publicUrl).toBe(origin);
  });

  it('warns when JWT_ISSUER is a URL other than PUBLIC_URL (tokens and metadata would name two issuers)', () => {
    const warnings = (issuer?: string) =>
      loadConfig({ ...PROD, PUBLIC_URL: 'https://auth.example.com', JWT_ISSUER: issuer }).warnings;
    expect(warnings('https://login.example.com')).toEqual([
      expect.stringMatching(/^JWT_ISSUER is a URL but not PUBLIC_URL/),
    ]);
    expect(warnings('https://auth.example.com')).toEqual([]);
    // The default name: partners pin it; the docs say how to move to PUBLIC_URL.
    expect(warnings(undefined)).toEqual([]);
    expect(warnings('wechat-auth')).toEqual([]);
  });
});
