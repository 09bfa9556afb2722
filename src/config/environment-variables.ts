import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * The raw environment, as validated by @nestjs/config at start.
 * Every field is optional here; defaults and cross-field rules live in `loadConfig`.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: 'development' | 'production' | 'test';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /** false | true | hop count | comma-separated proxy addresses/CIDRs (parsed in loadConfig). */
  @IsOptional()
  @Matches(/^(true|false|\d{1,2}|[0-9a-fA-F:./]+(\s*,\s*[0-9a-fA-F:./]+)*)$/, {
    message: 'TRUST_PROXY must be true, false, a hop count, or a comma-separated list of proxy IPs/CIDRs',
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  @IsOptional()
  @Matches(/^(sqlite|mysql|mariadb):/, {
    message: 'DATABASE_URL must start with sqlite:, mysql:// or mariadb://',
  })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATE_ON_START?: boolean;

  /** MySQL/MariaDB connections per instance. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000' })
  @Min(1, { message: 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000' })
  @Max(1000, { message: 'DB_POOL_SIZE must be a whole number of connections from 1 to 1000' })
  DB_POOL_SIZE?: number;

  /** Longest wait for a pooled connection (making one included); then 503 DATABASE_UNAVAILABLE. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000' })
  @Min(50, { message: 'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000' })
  @Max(60000, { message: 'DB_POOL_ACQUIRE_TIMEOUT_MS must be milliseconds from 50 to 60000' })
  DB_POOL_ACQUIRE_TIMEOUT_MS?: number;

  /** Requests allowed to wait for a connection when all are busy (0 = none); beyond, 503 at once. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'DB_POOL_QUEUE_LIMIT must be a whole number from 0 to 100000' })
  @Min(0, { message: 'DB_POOL_QUEUE_LIMIT must be a whole number from 0 to 100000' })
  @Max(100000, { message: 'DB_POOL_QUEUE_LIMIT must be a whole number from 0 to 100000' })
  DB_POOL_QUEUE_LIMIT?: number;

  /** Longest one query may take (BEGIN/COMMIT included); then its connection is closed and 503. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000' })
  @Min(100, { message: 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000' })
  @Max(600000, { message: 'DB_QUERY_TIMEOUT_MS must be milliseconds from 100 to 600000' })
  DB_QUERY_TIMEOUT_MS?: number;

  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  /** One or more PEM private keys (EC P-256, RSA ≥ 2048, Ed25519), concatenated; the first signs. Parsed in loadConfig. */
  @IsOptional()
  @IsString()
  @MaxLength(64 * 1024)
  JWT_PRIVATE_KEYS?: string;

  /** Comma-separated retired HS256 secrets whose tokens still verify during a rotation. */
  @IsOptional()
  @IsString()
  JWT_PREVIOUS_SECRETS?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  JWT_AUDIENCE?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(30)
  @Max(86400)
  ACCESS_TOKEN_TTL?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(300)
  @Max(31536000)
  REFRESH_TOKEN_TTL?: number;

  @IsOptional()
  @IsString()
  SESSION_KEY_ENCRYPTION_KEY?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'WECHAT_APPID must be 1-64 characters of [A-Za-z0-9_-]' })
  WECHAT_APPID?: string;

  @IsOptional()
  @IsString()
  WECHAT_SECRET?: string;

  @IsOptional()
  @Matches(/^\s*([A-Za-z0-9_-]{1,64}:[^,\s]+)(\s*,\s*[A-Za-z0-9_-]{1,64}:[^,\s]+)*\s*$/, {
    message: 'WECHAT_APPS must be a comma-separated list of appid:secret',
  })
  WECHAT_APPS?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s?#]+$/, {
    message: 'WECHAT_API_BASE must be an http(s) URL without query or fragment',
  })
  WECHAT_API_BASE?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  WECHAT_SANDBOX?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(30000)
  WECHAT_CONNECT_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(30000)
  WECHAT_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(55000)
  WECHAT_LOGIN_DEADLINE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(5)
  WECHAT_MAX_RETRIES?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WECHAT_BREAKER_THRESHOLD?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  WECHAT_BREAKER_COOLDOWN_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1024)
  WECHAT_MAX_CONCURRENCY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  WECHAT_MAX_QUEUE?: number;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  WECHAT_ALLOW_INSECURE_API_BASE?: boolean;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(55000)
  WECHAT_API_DEADLINE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(1800)
  WECHAT_TOKEN_REFRESH_MARGIN_S?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(15)
  WECHAT_FORCE_REFRESH_DAILY_BUDGET?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  PHONE_LOOKUPS_PER_USER_PER_DAY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000000)
  PHONE_LOOKUPS_PER_APP_PER_DAY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(30)
  @Max(604800)
  OPEN_DATA_MAX_AGE_S?: number;

  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must start with redis:// or rediss://' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9:_.-]{1,64}$/, {
    message: 'REDIS_KEY_PREFIX must be 1-64 characters of [A-Za-z0-9:_.-]',
  })
  REDIS_KEY_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'REDIS_OUTAGE_GRACE_S must be whole seconds from 0 to 86400' })
  @Min(0, { message: 'REDIS_OUTAGE_GRACE_S must be whole seconds from 0 to 86400' })
  @Max(86400, { message: 'REDIS_OUTAGE_GRACE_S must be whole seconds from 0 to 86400' })
  REDIS_OUTAGE_GRACE_S?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  LOGIN_RATE_LIMIT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60)
  REFRESH_REUSE_INTERVAL?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  MAX_SESSIONS_PER_USER?: number;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  SWAGGER_ENABLED?: boolean;

  /** A request's headers must arrive within this (slowloris); 408 REQUEST_TIMEOUT after. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'HTTP_HEADERS_TIMEOUT_MS must be whole milliseconds from 500 to 120000' })
  @Min(500, { message: 'HTTP_HEADERS_TIMEOUT_MS must be whole milliseconds from 500 to 120000' })
  @Max(120000, { message: 'HTTP_HEADERS_TIMEOUT_MS must be whole milliseconds from 500 to 120000' })
  HTTP_HEADERS_TIMEOUT_MS?: number;

  /** A whole request (headers and body) must arrive within this; 408 REQUEST_TIMEOUT after. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'HTTP_REQUEST_TIMEOUT_MS must be whole milliseconds from 500 to 300000' })
  @Min(500, { message: 'HTTP_REQUEST_TIMEOUT_MS must be whole milliseconds from 500 to 300000' })
  @Max(300000, { message: 'HTTP_REQUEST_TIMEOUT_MS must be whole milliseconds from 500 to 300000' })
  HTTP_REQUEST_TIMEOUT_MS?: number;

  /** An idle keep-alive connection is closed after this (keep it above the load balancer's idle timeout). */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'HTTP_KEEP_ALIVE_TIMEOUT_MS must be whole milliseconds from 1000 to 600000' })
  @Min(1000, { message: 'HTTP_KEEP_ALIVE_TIMEOUT_MS must be whole milliseconds from 1000 to 600000' })
  @Max(600000, { message: 'HTTP_KEEP_ALIVE_TIMEOUT_MS must be whole milliseconds from 1000 to 600000' })
  HTTP_KEEP_ALIVE_TIMEOUT_MS?: number;

  /** SIGTERM: requests in flight get this long to finish before their connections are closed. */
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'SHUTDOWN_GRACE_MS must be whole milliseconds from 0 to 600000' })
  @Min(0, { message: 'SHUTDOWN_GRACE_MS must be whole milliseconds from 0 to 600000' })
  @Max(600000, { message: 'SHUTDOWN_GRACE_MS must be whole milliseconds from 0 to 600000' })
  SHUTDOWN_GRACE_MS?: number;

  /** Comma-separated origins, e.g. `https://admin.example.com,https://ops.example.com`. */
  @IsOptional()
  @Matches(/^\s*https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*\s*$/, {
    message:
      'CORS_ORIGINS must be a comma-separated list of origins like https://admin.example.com (no paths)',
  })
  CORS_ORIGINS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  AUDIT_RETENTION_DAYS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'USER_CACHE_TTL_MS must be whole milliseconds from 0 to 10000' })
  @Min(0, { message: 'USER_CACHE_TTL_MS must be whole milliseconds from 0 to 10000' })
  @Max(10_000, { message: 'USER_CACHE_TTL_MS must be whole milliseconds from 0 to 10000' })
  USER_CACHE_TTL_MS?: number;

  /** Absolute URL partners reach this service at, for the links in /.well-known/oauth-authorization-server. */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message:
      'PUBLIC_URL must be an absolute http(s) URL without query or fragment, e.g. https://auth.example.com',
  })
  PUBLIC_URL?: string;

  /** `id:secret,id2:secret2`: partner back-ends calling the service routes with HTTP Basic. (Never echoed.) */
  @IsOptional()
  @Matches(/^\s*[A-Za-z0-9_.-]{1,64}:[^,\s]+(\s*,\s*[A-Za-z0-9_.-]{1,64}:[^,\s]+)*\s*$/, {
    message: 'SERVICE_CLIENTS must be a comma-separated list of id:secret (ids of [A-Za-z0-9_.-])',
  })
  SERVICE_CLIENTS?: string;

  /** Comma-separated ids of SERVICE_CLIENTS that may fetch the WeChat interface access_token. */
  @IsOptional()
  @Matches(/^\s*[A-Za-z0-9_.-]{1,64}(\s*,\s*[A-Za-z0-9_.-]{1,64})*\s*$/, {
    message: 'WECHAT_TOKEN_CLIENTS must be a comma-separated list of SERVICE_CLIENTS ids',
  })
  WECHAT_TOKEN_CLIENTS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000000)
  SERVICE_CLIENT_RATE_LIMIT?: number;
}
