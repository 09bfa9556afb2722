import { createPrivateKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type {
  AppConfig,
  DatabaseConfig,
  DatabaseLimits,
  JwtKeyConfig,
  NodeEnv,
  ServiceClient,
  ServiceClientsConfig,
  WechatAppCredentials,
} from './app-config';
import { DEFAULT_DATABASE_LIMITS } from './app-config';
import { EnvironmentVariables } from './environment-variables';
import { asymmetricKey, generateEs256Pem, parsePrivateKeys, secretKey } from './jwt-keys';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

/** The appid the sandbox answers for when no WECHAT_APPID is set. */
export const SANDBOX_DEFAULT_APPID = 'wxsandbox';
const SANDBOX_DEFAULT_SECRET = 'sandbox-secret-not-for-production';

/** HS256 wants a key of at least the hash size (RFC 7518 §3.2): 32 random bytes. */
const MIN_SECRET_BITS = 256;
// Words that make a value a placeholder or a password, not a key (≥ 6 letters: random text almost never has them).
const COMMON_WORDS =
  /password|passwd|secret|changeme|example|default|replace|placeholder|sample|qwerty|letmein|welcome|iloveyou/;

/**
 * Why a production JWT_SECRET is not a random key, or undefined when it looks like one.
 * The value's alphabet bounds its entropy (hex 4 bits a character, base64 6, other printable ~6.5);
 * what a person types — repetition, runs and sequences, words, one letter case, few distinct
 * characters — is refused even when long enough. Thresholds are set so that real generators'
 * output (`openssl rand`, base64/hex of random bytes) fails with a probability below ~1e-6.
 */
export function weakSecretReason(value: string): string | undefined {
  const text = value.replace(/=+$/, ''); // base64 padding carries no entropy
  const alphabet = /^[0-9]+$/.test(text)
    ? 10
    : /^(?:[0-9a-f]+|[0-9A-F]+)$/.test(text)
      ? 16
      : /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)$/.test(text)
        ? 64
        : 94;
  if (text.length * Math.log2(alphabet) < MIN_SECRET_BITS) return 'less than 256 bits of randomness';
  if (repeatsItself(text, 8)) return 'it repeats itself';
  // A run of one character or a step-by-one sequence (abcdef, 654321); hex's 16 symbols need a longer one.
  if (hasRun(text, alphabet <= 16 ? 8 : 6)) return 'it contains a run or sequence';
  if (COMMON_WORDS.test(text.toLowerCase().replace(/[^a-z0-9]/g, ''))) return 'it contains a common word';
  // Half the distinct characters a random string of this length and alphabet would show.
  const expectedDistinct = alphabet * (1 - (1 - 1 / alphabet) ** text.length);
  if (new Set(text).size < expectedDistinct / 2) return 'it uses too few distinct characters';
  if (alphabet > 16 && !(/[a-z]/.test(text) && /[A-Z]/.test(text)))
    return 'it does not mix upper- and lower-case letters';
  return undefined;
}

/** Whether some substring of `length` characters occurs twice (overlapping counts). */
function repeatsItself(text: string, length: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + length <= text.length; i++) {
    const part = text.slice(i, i + length);
    if (seen.has(part)) return true;
    seen.add(part);
  }
  return false;
}

/** Whether `length` consecutive characters step by the same -1, 0 or +1 in character code. */
function hasRun(text: string, length: number): boolean {
  let run = 1;
  for (let i = 1; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    const sameStep = i >= 2 && step === text.charCodeAt(i - 1) - text.charCodeAt(i - 2);
    run = Math.abs(step) <= 1 ? (sameStep ? run + 1 : 2) : 1;
    if (run >= length) return true;
  }
  return false;
}

/** Validates the raw environment with class-validator (the @nestjs/config `validate` contract). */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  // Empty strings mean "unset": docker-compose and CI often pass VAR= for optional values.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== '' && v !== undefined));
  const env = plainToInstance(EnvironmentVariables, cleaned, { enableImplicitConversion: false });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    // A set: one message per problem even when several of a field's rules share it.
    throw new ConfigError([
      ...new Set(
        errors.flatMap((e) => Object.values(e.constraints ?? { invalid: `${e.property} is invalid` })),
      ),
    ]);
  }
  return env;
}

export function parseDatabaseUrl(
  url: string | undefined,
  dataDir: string,
): Omit<DatabaseConfig, 'migrateOnStart' | 'synchronize'> {
  if (!url) return { type: 'better-sqlite3', sqlitePath: join(dataDir, 'app.sqlite') };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    return { type: 'better-sqlite3', sqlitePath: path === ':memory:' ? path : resolve(path) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the URL: it carries the database password.
    throw new ConfigError(['DATABASE_URL is not a valid URL']);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw new ConfigError(['DATABASE_URL must name a database, e.g. mysql://user:pass@host:3306/app']);
  return {
    type: parsed.protocol === 'mariadb:' ? 'mariadb' : 'mysql',
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

function decodeKey(value: string): Buffer | undefined {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  const b = Buffer.from(v, 'base64');
  return b.length === 32 ? b : undefined;
}

interface DevSecrets {
  sessionKeyEncryptionKey: string;
}

/** The generated development signing key (ES256, PKCS#8 PEM): the same format JWT_PRIVATE_KEYS takes. */
export const DEV_JWT_KEY_FILE = 'dev-jwt-key.pem';

/** Development only: generate secrets once and keep them in the data folder so restarts keep sessions valid. */
function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    // Files of earlier versions also hold a `jwtSecret`: no longer used (development signs with an ES256 key).
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (parsed.sessionKeyEncryptionKey) return parsed as DevSecrets;
  }
  const secrets: DevSecrets = { sessionKeyEncryptionKey: randomBytes(32).toString('base64') };
  writePrivateFile(file, JSON.stringify(secrets, null, 2));
  return secrets;
}

/** Development only: the ES256 signing key, generated once into the data folder (0600), so the JWKS stays put. */
function loadOrCreateDevJwtKey(dataDir: string): string {
  const file = join(dataDir, DEV_JWT_KEY_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const pem = generateEs256Pem();
  writePrivateFile(file, pem);
  return pem;
}

function writePrivateFile(file: string, content: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** `id:secret,…` → clients by id; the problems name ids only, never a secret. */
function parseServiceClients(
  list: string | undefined,
  wechatTokenList: string | undefined,
  isProd: boolean,
  problems: string[],
): Omit<ServiceClientsConfig, 'rateLimitPerMinute'> {
  const clients = new Map<string, ServiceClient>();
  for (const pair of (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = pair.indexOf(':');
    const client = { id: pair.slice(0, i), secret: pair.slice(i + 1) };
    if (clients.has(client.id)) problems.push(`SERVICE_CLIENTS lists the client "${client.id}" twice`);
    // 32 characters of a generator's output (openssl rand -base64 32 gives 44) cannot be guessed online;
    // the secret guards introspection and the WeChat interface token, so it gets JWT_SECRET's entropy rule too.
    const weak = isProd ? weakSecretReason(client.secret) : undefined;
    if (isProd && client.secret.length < 32)
      problems.push(
        `SERVICE_CLIENTS: the secret of "${client.id}" must be at least 32 characters in production`,
      );
    else if (weak)
      problems.push(
        `SERVICE_CLIENTS: the secret of "${client.id}" is too weak for production (${weak}); generate one with \`openssl rand -base64 32\``,
      );
    clients.set(client.id, client);
  }
  const wechatTokenClients = new Set(
    (wechatTokenList ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const id of wechatTokenClients)
    if (!clients.has(id))
      problems.push(`WECHAT_TOKEN_CLIENTS names "${id}", which is not in SERVICE_CLIENTS`);
  return { clients, wechatTokenClients };
}

function parseTrustProxy(value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((s) => s.trim());
}

function parseApps(list: string | undefined): WechatAppCredentials[] {
  if (!list) return [];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf(':');
      return { appid: pair.slice(0, i), secret: pair.slice(i + 1) };
    });
}

/**
 * Turns the environment into the typed configuration, applying defaults and
 * the cross-field rules (production refuses weak secrets and the sandbox).
 * Throws ConfigError listing every problem; messages never contain secret values.
 */
export function loadConfig(
  raw: Record<string, string | undefined>,
  opts: { synchronize?: boolean } = {},
): AppConfig {
  const env = validateEnv(raw);
  const nodeEnv: NodeEnv = env.NODE_ENV ?? 'development';
  const isProd = nodeEnv === 'production';
  const problems: string[] = [];
  const warnings: string[] = [];
  const dataDir = resolve(env.DATA_DIR ?? './data');
  const port = env.PORT ?? 3000;

  // Development without secrets gets generated ones (kept in the data folder); tests get ephemeral ones.
  let devSecrets: DevSecrets | undefined;
  const devSecret = (): DevSecrets => {
    if (!devSecrets) {
      devSecrets =
        nodeEnv === 'test'
          ? { sessionKeyEncryptionKey: randomBytes(32).toString('base64') }
          : loadOrCreateDevSecrets(dataDir);
    }
    return devSecrets;
  };

  // Signing keys: JWT_PRIVATE_KEYS first (the first of them signs), then JWT_SECRET, then retired secrets.
  const jwtKeys: JwtKeyConfig[] = [];
  if (env.JWT_PRIVATE_KEYS !== undefined) {
    const parsed = parsePrivateKeys(env.JWT_PRIVATE_KEYS);
    problems.push(...parsed.problems);
    jwtKeys.push(...parsed.keys);
  }
  const jwtSecret = env.JWT_SECRET;
  const secretProblem = (name: string, value: string): string | undefined => {
    if (Buffer.byteLength(value) < 32) return `${name} must be at least 32 bytes`;
    // Never the value, only which rule it broke, and what to use instead.
    const reason = isProd ? weakSecretReason(value) : undefined;
    return reason
      ? `${name} is too weak for production (${reason}): use at least 32 random bytes, ` +
          'e.g. `openssl rand -base64 48` (or `openssl rand -hex 32`)'
      : undefined;
  };
  if (jwtSecret !== undefined) {
    const problem = secretProblem('JWT_SECRET', jwtSecret);
    if (problem) problems.push(problem);
    else jwtKeys.push(secretKey(jwtSecret, 'secret'));
  }
  const previousSecrets = (env.JWT_PREVIOUS_SECRETS ?? '').split(',').filter((v) => v.trim() !== '');
  previousSecrets.forEach((value, i) => {
    const problem = secretProblem(`JWT_PREVIOUS_SECRETS entry #${i + 1}`, value.trim());
    if (problem) problems.push(problem);
    else jwtKeys.push(secretKey(value.trim(), 'previous-secret'));
  });
  if (env.JWT_PRIVATE_KEYS === undefined && jwtSecret === undefined) {
    if (isProd)
      problems.push(
        'JWT_PRIVATE_KEYS (an EC P-256, RSA ≥ 2048 or Ed25519 PEM private key) or JWT_SECRET (at least 32 random ' +
          'bytes) is required in production',
      );
    else {
      // Development keeps its key in the data folder (restarts keep tokens and the JWKS); tests get an ephemeral one.
      const pem = nodeEnv === 'test' ? generateEs256Pem() : loadOrCreateDevJwtKey(dataDir);
      jwtKeys.unshift(asymmetricKey(createPrivateKey(pem), 'ES256'));
      if (nodeEnv === 'development')
        warnings.push(
          `JWT_PRIVATE_KEYS not set: signing ES256 with a generated key kept in ${join(dataDir, DEV_JWT_KEY_FILE)}`,
        );
    }
  }
  const kids = jwtKeys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length)
    problems.push('the same JWT key or secret is configured twice (JWT_SECRET / JWT_PREVIOUS_SECRETS)');

  const serviceClients = parseServiceClients(env.SERVICE_CLIENTS, env.WECHAT_TOKEN_CLIENTS, isProd, problems);

  let encKey: Buffer | undefined;
  if (env.SESSION_KEY_ENCRYPTION_KEY === undefined) {
    if (isProd)
      problems.push('SESSION_KEY_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)');
    else encKey = decodeKey(devSecret().sessionKeyEncryptionKey);
  } else {
    encKey = decodeKey(env.SESSION_KEY_ENCRYPTION_KEY);
    if (!encKey) {
      problems.push('SESSION_KEY_ENCRYPTION_KEY must be 32 bytes, as base64 (44 chars) or hex (64 chars)');
    } else if (isProd && new Set(encKey).size < 16) {
      // 32 zero bytes decode fine but protect nothing; a random key has ~30 distinct bytes.
      problems.push(
        'SESSION_KEY_ENCRYPTION_KEY looks like a placeholder; generate one: openssl rand -base64 32',
      );
    }
  }

  // Node refuses a server whose headers may take longer than the whole request.
  if ((env.HTTP_HEADERS_TIMEOUT_MS ?? 10_000) > (env.HTTP_REQUEST_TIMEOUT_MS ?? 15_000))
    problems.push('HTTP_HEADERS_TIMEOUT_MS cannot be larger than HTTP_REQUEST_TIMEOUT_MS');

  const sandbox = env.WECHAT_SANDBOX ?? (!isProd && env.WECHAT_SECRET === undefined);
  if (sandbox && isProd) problems.push('WECHAT_SANDBOX cannot be enabled when NODE_ENV=production');

  const apps = new Map<string, WechatAppCredentials>();
  const defaultAppid = env.WECHAT_APPID ?? (sandbox ? SANDBOX_DEFAULT_APPID : undefined);
  const defaultSecret = env.WECHAT_SECRET ?? (sandbox ? SANDBOX_DEFAULT_SECRET : undefined);
  if (!defaultAppid || !defaultSecret) {
    problems.push('WECHAT_APPID and WECHAT_SECRET are required unless WECHAT_SANDBOX=true');
  } else {
    apps.set(defaultAppid, { appid: defaultAppid, secret: defaultSecret });
  }
  for (const app of parseApps(env.WECHAT_APPS)) apps.set(app.appid, app);

  const apiBase = (
    env.WECHAT_API_BASE ?? (sandbox ? `http://127.0.0.1:${port}/sandbox/wechat` : 'https://api.weixin.qq.com')
  ).replace(/\/+$/, '');
  // The AppSecret is a query parameter of jscode2session: in production it must not cross a network in clear.
  if (
    isProd &&
    !apiBase.startsWith('https://') &&
    !isLoopbackUrl(apiBase) &&
    !env.WECHAT_ALLOW_INSECURE_API_BASE
  )
    problems.push(
      'WECHAT_API_BASE must be https:// in production (it carries the AppSecret); a loopback host or ' +
        'WECHAT_ALLOW_INSECURE_API_BASE=true (e.g. behind a TLS-terminating egress proxy) is the only exception',
    );
  if (sandbox && nodeEnv === 'development')
    warnings.push(`WeChat sandbox enabled: logins go to ${apiBase}, not to WeChat`);
  if (isProd && !env.PUBLIC_URL)
    warnings.push(
      'PUBLIC_URL is not set: /.well-known/oauth-authorization-server builds its links from each request ' +
        '(answered private, not for shared caches); set PUBLIC_URL to the address partners use',
    );

  let database: DatabaseConfig | undefined;
  try {
    database = {
      ...parseDatabaseUrl(env.DATABASE_URL, dataDir),
      migrateOnStart: env.DB_MIGRATE_ON_START ?? true,
      synchronize: opts.synchronize === true && nodeEnv === 'test',
      limits: databaseLimits(env),
    };
    if (
      database.type === 'better-sqlite3' &&
      DATABASE_LIMIT_VARIABLES.some((name) => env[name] !== undefined)
    )
      warnings.push(
        `${DATABASE_LIMIT_VARIABLES.join(', ')} apply to MySQL/MariaDB only: ignored with SQLite`,
      );
  } catch (e) {
    problems.push(...(e instanceof ConfigError ? e.problems : ['DATABASE_URL is invalid']));
  }

  if (problems.length > 0 || jwtKeys.length === 0 || !encKey || !database || !defaultAppid)
    throw new ConfigError(problems);

  return {
    env: nodeEnv,
    port,
    // The sandbox lets anyone mint a login for any openid: keep it on loopback unless HOST says otherwise.
    host: env.HOST ?? (sandbox ? '127.0.0.1' : '0.0.0.0'),
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    dataDir,
    database,
    jwt: {
      secret: jwtKeys.find((k) => k.source === 'secret')?.signingKey,
      keys: jwtKeys,
      issuer: env.JWT_ISSUER ?? 'wechat-auth',
      audience: env.JWT_AUDIENCE ?? 'miniprogram',
      accessTtlSeconds: env.ACCESS_TOKEN_TTL ?? 900,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL ?? 30 * 24 * 3600,
    },
    sessionKeyEncryptionKey: encKey,
    wechat: {
      defaultAppid,
      apps,
      apiBase,
      sandbox,
      connectTimeoutMs: env.WECHAT_CONNECT_TIMEOUT_MS ?? 1000,
      timeoutMs: env.WECHAT_TIMEOUT_MS ?? 3000,
      loginDeadlineMs: env.WECHAT_LOGIN_DEADLINE_MS ?? 8000,
      maxRetries: env.WECHAT_MAX_RETRIES ?? 2,
      breakerThreshold: env.WECHAT_BREAKER_THRESHOLD ?? 5,
      breakerCooldownMs: env.WECHAT_BREAKER_COOLDOWN_MS ?? 30000,
      maxConcurrency: env.WECHAT_MAX_CONCURRENCY ?? 16,
      maxQueue: env.WECHAT_MAX_QUEUE ?? 64,
      apiDeadlineMs: env.WECHAT_API_DEADLINE_MS ?? 8000,
      accessTokenMarginSeconds: env.WECHAT_TOKEN_REFRESH_MARGIN_S ?? 300,
      forceRefreshDailyBudget: env.WECHAT_FORCE_REFRESH_DAILY_BUDGET ?? 5,
    },
    phone: {
      lookupsPerUserPerDay: env.PHONE_LOOKUPS_PER_USER_PER_DAY ?? 5,
      lookupsPerAppPerDay: env.PHONE_LOOKUPS_PER_APP_PER_DAY ?? 10000,
    },
    openData: { maxAgeSeconds: env.OPEN_DATA_MAX_AGE_S ?? 900 },
    redis: {
      url: env.REDIS_URL,
      keyPrefix: env.REDIS_KEY_PREFIX ?? 'wxauth:',
      outageGraceSeconds: env.REDIS_OUTAGE_GRACE_S ?? 30,
    },
    loginRateLimitPerMinute: env.LOGIN_RATE_LIMIT ?? 30,
    sessions: {
      refreshReuseIntervalSeconds: env.REFRESH_REUSE_INTERVAL ?? 10,
      maxPerUser: env.MAX_SESSIONS_PER_USER ?? 20,
    },
    http: {
      swaggerEnabled: env.SWAGGER_ENABLED ?? !isProd,
      corsOrigins: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(',').map((o) => o.trim()) : [],
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS ?? 10_000,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS ?? 15_000,
      // Above the 60 s idle timeout of common load balancers, so they close first (Fastify's own default).
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? 72_000,
      // Covers a login at its deadline (WECHAT_LOGIN_DEADLINE_MS, 8 s) and fits Docker's 10 s stop timeout.
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS ?? 9_000,
    },
    audit: { retentionDays: env.AUDIT_RETENTION_DAYS ?? 180 },
    users: { readCacheTtlMs: env.USER_CACHE_TTL_MS ?? 1000 },
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    serviceClients: { ...serviceClients, rateLimitPerMinute: env.SERVICE_CLIENT_RATE_LIMIT ?? 600 },
    warnings,
  };
}

/** http://127.0.0.1…, http://[::1]…, http://localhost…: a test double on this host, not a network hop. */
function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

const DATABASE_LIMIT_VARIABLES = [
  'DB_POOL_SIZE',
  'DB_POOL_ACQUIRE_TIMEOUT_MS',
  'DB_POOL_QUEUE_LIMIT',
  'DB_QUERY_TIMEOUT_MS',
] as const;

function databaseLimits(env: EnvironmentVariables): DatabaseLimits {
  return {
    poolSize: env.DB_POOL_SIZE ?? DEFAULT_DATABASE_LIMITS.poolSize,
    acquireTimeoutMs: env.DB_POOL_ACQUIRE_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.acquireTimeoutMs,
    queueLimit: env.DB_POOL_QUEUE_LIMIT ?? DEFAULT_DATABASE_LIMITS.queueLimit,
    queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS ?? DEFAULT_DATABASE_LIMITS.queryTimeoutMs,
  };
}

/** Just the database part, for the migration CLI (no secrets needed, none generated). */
export function databaseConfigFromEnv(raw: Record<string, string | undefined>): DatabaseConfig {
  const env = validateEnv(raw);
  return {
    ...parseDatabaseUrl(env.DATABASE_URL, resolve(env.DATA_DIR ?? './data')),
    migrateOnStart: false,
    synchronize: false,
    // A migration run by hand may rebuild a large table: no per-query deadline (the pool's wait stays bounded).
    limits: { ...databaseLimits(env), queryTimeoutMs: 0 },
  };
}
