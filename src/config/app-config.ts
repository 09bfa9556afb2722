import type { KeyObject } from 'node:crypto';
import type { ContentConfig } from '../wechat-auth/content/content.config';
import type { WechatEventsConfig } from '../wechat-auth/events/events.config';
import type { RiskConfig } from '../wechat-auth/risk/risk.config';
import type { IdentityKind } from '../users/identity-kind';

export type NodeEnv = 'development' | 'production' | 'test';
export type DatabaseType = 'better-sqlite3' | 'mysql' | 'mariadb';

export interface DatabaseConfig {
  type: DatabaseType;
  /** File path for SQLite; for MySQL/MariaDB the parsed URL parts below. */
  sqlitePath?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  migrateOnStart: boolean;
  /** Only ever true in tests (never settable from the environment). */
  synchronize: boolean;
  /** MySQL/MariaDB only (SQLite is in-process and synchronous); DEFAULT_DATABASE_LIMITS when absent. */
  limits?: DatabaseLimits;
}

/** Every MySQL/MariaDB call answers within these: 503 DATABASE_UNAVAILABLE instead of a hanging request. */
export interface DatabaseLimits {
  /** DB_POOL_SIZE: connections per instance. */
  poolSize: number;
  /** DB_POOL_ACQUIRE_TIMEOUT_MS: longest wait for a pooled connection, making a new one included. */
  acquireTimeoutMs: number;
  /** DB_POOL_QUEUE_LIMIT: requests that may wait for a connection when all are busy; 0 = none wait. */
  queueLimit: number;
  /** DB_QUERY_TIMEOUT_MS: longest one query (BEGIN and COMMIT included) may take; 0 = none (migration CLI). */
  queryTimeoutMs: number;
}

export const DEFAULT_DATABASE_LIMITS: Readonly<DatabaseLimits> = Object.freeze({
  poolSize: 10,
  acquireTimeoutMs: 2000,
  queueLimit: 100,
  queryTimeoutMs: 3000,
});

export interface WechatAppCredentials {
  appid: string;
  secret: string;
  /** The door this appid is (WECHAT_APPS `appid:secret:kind`); absent: `miniprogram`. */
  kind?: IdentityKind;
}

export interface WechatConfig {
  /** The app used when a login request names no appid. */
  defaultAppid: string;
  apps: ReadonlyMap<string, WechatAppCredentials>;
  /** Base URL of WeChat's API; in sandbox mode, this service's own /sandbox/wechat. */
  apiBase: string;
  sandbox: boolean;
  connectTimeoutMs: number;
  /** Per attempt (capped by what is left of the login deadline). */
  timeoutMs: number;
  /** The whole login answers within this, retries and queueing included. */
  loginDeadlineMs: number;
  /** Extra attempts after a retryable failure. */
  maxRetries: number;
  /** Consecutive upstream failures that open the circuit breaker of an (appid, endpoint). */
  breakerThreshold: number;
  breakerCooldownMs: number;
  /** Calls to WeChat in flight at once, per instance; more wait in a bounded queue. */
  maxConcurrency: number;
  maxQueue: number;
  /** Every other WeChat call (interface token, phone number, session check) answers within this. */
  apiDeadlineMs: number;
  /** The cached interface access_token is renewed this long before WeChat's `expires_in` ends. */
  accessTokenMarginSeconds: number;
  /** `force_refresh` uses allowed per appid and day (WeChat's own limit is 20). */
  forceRefreshDailyBudget: number;
}

export interface SessionsConfig {
  /** Seconds after a rotation during which the just-rotated refresh token answers with the same successor. */
  refreshReuseIntervalSeconds: number;
  /** Live sessions (refresh families) per user; the oldest is evicted beyond this. 0 = unlimited. */
  maxPerUser: number;
}

export interface HttpConfig {
  /** Swagger UI (/docs) and JSON (/docs-json): on outside production, in production only when asked for. */
  swaggerEnabled: boolean;
  /** Origins allowed by CORS; empty = CORS off (no Access-Control-* headers). */
  corsOrigins: readonly string[];
  /** Node's headersTimeout: the request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /** Node's requestTimeout: the whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long requests in flight may take before their connections are closed. */
  shutdownGraceMs: number;
}

export interface PhoneConfig {
  /** Paid lookups (getuserphonenumber) per user and day. */
  lookupsPerUserPerDay: number;
  /** Paid lookups per app and day, all users together. */
  lookupsPerAppPerDay: number;
}

export interface OpenDataConfig {
  /** Decrypted open data whose watermark is older than this (or this far in the future) is refused. */
  maxAgeSeconds: number;
}

export type JwtAlgorithm = 'HS256' | 'ES256' | 'RS256' | 'EdDSA';

/** One key that verifies access tokens (and, when first in `JwtConfig.keys`, signs them). */
export interface JwtKeyConfig {
  /** In every token header. RFC 7638 thumbprint of a public key; an HMAC-derived label for a secret. */
  kid: string;
  /** The one algorithm this key is used with (a token naming another is refused). */
  alg: JwtAlgorithm;
  /** The private key, or the HMAC secret (a KeyObject: ~60x cheaper per call than a string). */
  signingKey: KeyObject;
  /** The public key, or the HMAC secret. */
  verificationKey: KeyObject;
  /** Where it came from: JWT_PRIVATE_KEYS (or the generated development key), JWT_SECRET, JWT_PREVIOUS_SECRETS. */
  source: 'private-key' | 'secret' | 'previous-secret';
}

export interface ServiceClient {
  id: string;
  secret: string;
}

export interface ServiceClientsConfig {
  /** SERVICE_CLIENTS: partner back-ends allowed to call /oauth/introspect (HTTP Basic). */
  clients: ReadonlyMap<string, ServiceClient>;
  /** WECHAT_TOKEN_CLIENTS: those of them that may also fetch the WeChat interface access_token. */
  wechatTokenClients: ReadonlySet<string>;
  /** Calls per client and minute to each service route. */
  rateLimitPerMinute: number;
}

export interface JwtConfig {
  /** JWT_SECRET as a KeyObject, when set (it is also in `keys`); kid-less tokens of earlier versions verify with it. */
  secret?: KeyObject;
  /** Every key that verifies, the signing key first (JWT_PRIVATE_KEYS, then JWT_SECRET, then JWT_PREVIOUS_SECRETS). */
  keys: readonly JwtKeyConfig[];
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** A Redis server (a sentinel or a cluster node) as `host:port`. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Which Redis the shared store uses: one server (`REDIS_URL`), a Sentinel-monitored master, or a Cluster. */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisNode[];
      /** The master group name the sentinels monitor. */
      readonly masterName: string;
      /** AUTH for the master and replicas. */
      readonly password?: string;
      /** AUTH for the sentinels themselves. */
      readonly sentinelPassword?: string;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNode[]; readonly password?: string };

export interface RedisConfig {
  /** `REDIS_URL` (the single-server topology), kept for its readers; `topology` says which Redis, if any. */
  readonly url?: string;
  /** Unset: the in-process store (one instance only). */
  readonly topology?: RedisTopology;
  readonly keyPrefix: string;
  readonly outageGraceSeconds: number;
}

/**
 * The whole validated configuration. Built once by `loadConfig` and provided
 * by DI under this class as token, so consumers get it fully typed.
 */
export abstract class AppConfig {
  abstract readonly env: NodeEnv;
  abstract readonly port: number;
  abstract readonly host: string;
  abstract readonly logLevel: string;
  /** Fastify's trustProxy: which X-Forwarded-For hops to believe for the client IP (rate limits). */
  abstract readonly trustProxy: boolean | number | string[];
  abstract readonly dataDir: string;
  abstract readonly database: DatabaseConfig;
  abstract readonly jwt: JwtConfig;
  /** Absolute base URL partners reach this service at (metadata links); unset = the request's own origin. */
  abstract readonly publicUrl?: string;
  abstract readonly serviceClients: ServiceClientsConfig;
  /** 32-byte AES-256-GCM key for session_key at rest. */
  abstract readonly sessionKeyEncryptionKey: Buffer;
  abstract readonly wechat: WechatConfig;
  abstract readonly phone: PhoneConfig;
  /** WeChat's user risk rank at sign-up and before a phone lookup (WECHAT_RISK_CHECK). */
  abstract readonly risk: RiskConfig;
  abstract readonly openData: OpenDataConfig;
  /** WeChat's message push (`/wechat/events`): its Token and, for safe mode, the AES key. */
  abstract readonly wechatEvents: WechatEventsConfig;
  /** WeChat's content checks on the profile (WECHAT_CONTENT_CHECK). */
  abstract readonly content: ContentConfig;
  /** Browser login: WeChat's authorize/QR pages (`openBase`) and the exact origins a login may return to. */
  abstract readonly webOAuth: { openBase: string; returnOrigins: readonly string[] };
  /**
   * `outageGraceSeconds`: how long an instance whose revocation feed from Redis broke keeps accepting
   * access tokens from its in-memory replica (then 503 until the feed is back and re-read).
   */
  abstract readonly redis: RedisConfig;
  abstract readonly loginRateLimitPerMinute: number;
  abstract readonly sessions: SessionsConfig;
  abstract readonly http: HttpConfig;
  abstract readonly audit: { retentionDays: number };
  /**
   * `readCacheTtlMs`: how long `GET /users/me` may answer from this instance's copy of a user row (0: never).
   * Writes on this instance drop the copy at once; a write on another instance shows here within this bound.
   */
  abstract readonly users: { readCacheTtlMs: number };
  /** `GET /metrics`: on the API port behind `token`, or on `port` (bound to `host`); off when neither is set. */
  abstract readonly metrics: { token?: string; port?: number; host: string };
  /** Human-readable notes for the start-up log (e.g. generated dev secrets). Never contain secrets. */
  abstract readonly warnings: readonly string[];
}
