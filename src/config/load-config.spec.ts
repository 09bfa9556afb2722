import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, SANDBOX_DEFAULT_APPID } from './load-config';

const JWT_SECRET = 'q7Z1mW9xT4pL2vB8nR6cY3kD0sF5hJ1gA9eU7iO2';
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
      expect(config.jwt.secret.export().toString('utf8')).toBe(JWT_SECRET);
      expect(config.sessionKeyEncryptionKey).toEqual(Buffer.from(ENC_KEY, 'base64'));
      expect(config.wechat).toMatchObject({
        sandbox: false,
        defaultAppid: 'wxprod',
        apiBase: 'https://api.weixin.qq.com',
      });
      expect(config.wechat.apps.get('wxprod')).toEqual({ appid: 'wxprod', secret: 'prod-wechat-secret' });
      expect(config.logLevel).toBe('info');
      expect(config.warnings).toEqual([]);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
    ])('refuses a %s JWT_SECRET', (_, value) => {
      expect(configError(production({ JWT_SECRET: value })).problems).toContain(
        'JWT_SECRET is required in production (at least 32 random bytes)',
      );
    });

    it('refuses a JWT_SECRET shorter than 32 bytes without echoing it', () => {
      const secret = 'only-31-bytes-of-secret-here!!!';
      expect(Buffer.byteLength(secret)).toBe(31);
      const { problems, message } = configError(production({ JWT_SECRET: secret }));
      expect(problems).toEqual(['JWT_SECRET must be at least 32 bytes']);
      expect(message).not.toContain(secret);
    });

    it.each([
      'changeme-changeme-changeme-changeme-1234',
      'change_me_please_to_something_random_123',
      'your-secret-goes-here-0123456789abcdefghij',
      'secret-secret-secret-secret-secret-secret',
      'example-jwt-secret-that-is-long-enough-too',
      'x'.repeat(40),
      '7'.repeat(40),
    ])('refuses the placeholder JWT_SECRET %s without echoing it', (secret) => {
      const { problems, message } = configError(production({ JWT_SECRET: secret }));
      expect(problems).toEqual([
        'JWT_SECRET looks like a placeholder; generate one, e.g. `openssl rand -base64 48`',
      ]);
      expect(message).not.toContain(secret);
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
      });
      expect(config.logLevel).toBe('silent');
      expect(config.redis).toEqual({ url: undefined, keyPrefix: 'wxauth:' });
      expect(config.loginRateLimitPerMinute).toBe(30);
    });

    it('generates ephemeral secrets in test, writing nothing to DATA_DIR', () => {
      const a = loadConfig(testEnv());
      const b = loadConfig(testEnv());
      expect(a.sessionKeyEncryptionKey).toHaveLength(32);
      expect(a.jwt.secret.export().equals(b.jwt.secret.export())).toBe(false);
      expect(() => statSync(join(dataDir, 'dev-secrets.json'))).toThrow();
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

    it('generates secrets once into DATA_DIR/dev-secrets.json (mode 0600) and reuses them', () => {
      const dir = join(dataDir, 'not-yet-created');
      const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      const file = join(dir, 'dev-secrets.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as {
        jwtSecret: string;
        sessionKeyEncryptionKey: string;
      };
      expect(first.jwt.secret.export().toString('utf8')).toBe(stored.jwtSecret);
      expect(first.sessionKeyEncryptionKey).toEqual(Buffer.from(stored.sessionKeyEncryptionKey, 'base64'));

      const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      expect(second.jwt.secret.export().equals(first.jwt.secret.export())).toBe(true);
      expect(second.sessionKeyEncryptionKey).toEqual(first.sessionKeyEncryptionKey);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(stored);

      // The start-up warnings say where the secrets are, never what they are.
      const warnings = second.warnings.join('\n');
      expect(warnings).toContain(dir);
      expect(warnings).not.toContain(stored.jwtSecret);
      expect(warnings).not.toContain(stored.sessionKeyEncryptionKey);
    });

    it('prefers secrets from the environment over generated ones', () => {
      const config = loadConfig({
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        JWT_SECRET,
        SESSION_KEY_ENCRYPTION_KEY: ENC_KEY,
      });
      expect(config.jwt.secret.export().toString('utf8')).toBe(JWT_SECRET);
      expect(config.sessionKeyEncryptionKey).toEqual(Buffer.from(ENC_KEY, 'base64'));
      expect(() => statSync(join(dataDir, 'dev-secrets.json'))).toThrow();
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
    JWT_SECRET: 'Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA+eR/uI=',
    WECHAT_APPID: 'wx1234567890abcdef',
    WECHAT_SECRET: 'real-secret',
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
