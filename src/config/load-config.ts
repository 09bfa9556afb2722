import { auditConfig } from '../audit/audit.config';
import { cryptoConfig } from '../common/crypto/crypto.config';
import { httpConfig } from '../common/http/http.config';
import { storeConfig } from '../common/store/store.config';
import { databaseConfig, databaseLimits, parseDatabaseUrl } from '../database/database.config';
import { loggingConfig } from '../logging.config';
import { metricsConfig } from '../metrics/metrics.config';
import { oauthConfig } from '../oauth/oauth.config';
import { tokenConfig } from '../token/token.config';
import { usersConfig } from '../users/users.config';
import { contentConfig } from '../wechat-auth/content/content.config';
import { wechatEventsConfig } from '../wechat-auth/events/events.config';
import { openDataConfig } from '../wechat-auth/open-data/open-data.config';
import { phoneConfig } from '../wechat-auth/phone/phone.config';
import { riskConfig } from '../wechat-auth/risk/risk.config';
import { wechatConfig } from '../wechat-auth/wechat.config';
import { webOAuthConfig } from '../wechat-auth/web-oauth/web-oauth.config';
import type { AppConfig, DatabaseConfig } from './app-config';
import {
  assertDistinctNames,
  ConfigError,
  type ConfigContext,
  type ConfigSlice,
  ParsedValues,
  type Variables,
} from './config-slice';
import { runtimeConfig, runtimeFacts } from './runtime.config';

export { ConfigError } from './config-slice';
export { parseDatabaseUrl } from '../database/database.config';
export { SANDBOX_DEFAULT_APPID } from '../wechat-auth/wechat.config';
export { DEV_JWT_KEY_FILE } from './dev-secrets';

/**
 * Every slice, in the order their rules run (and their problems are listed). Slices read the parts of
 * those before them: the HTTP slice's HOST default follows the WeChat slice's sandbox decision, the
 * partner slice compares PUBLIC_URL with the token slice's issuer.
 */
export const CONFIG_SLICES: readonly ConfigSlice[] = [
  runtimeConfig,
  loggingConfig,
  tokenConfig,
  oauthConfig,
  cryptoConfig,
  wechatConfig,
  webOAuthConfig,
  phoneConfig,
  riskConfig,
  openDataConfig,
  wechatEventsConfig,
  contentConfig,
  httpConfig,
  databaseConfig,
  storeConfig,
  auditConfig,
  usersConfig,
  metricsConfig,
] as ConfigSlice[];
assertDistinctNames(CONFIG_SLICES);

/**
 * Turns the environment into the typed configuration: every slice's variables parsed (one ConfigError
 * listing every value that does not parse), then every slice's defaults and cross-field rules (one
 * ConfigError listing every problem they find; production refuses weak secrets, placeholders and the
 * sandbox). Messages never contain secret values.
 */
export function loadConfig(
  raw: Record<string, string | undefined>,
  opts: { synchronize?: boolean } = {},
): AppConfig {
  const values = ParsedValues.parse(CONFIG_SLICES, raw);
  const composer = new Composer(values, raw, opts);
  const runtime = composer.build(runtimeConfig);
  const logging = composer.build(loggingConfig);
  const token = composer.build(tokenConfig);
  const oauth = composer.build(oauthConfig);
  const crypto = composer.build(cryptoConfig);
  const wechat = composer.build(wechatConfig);
  const webOAuth = composer.build(webOAuthConfig);
  const phone = composer.build(phoneConfig);
  const risk = composer.build(riskConfig);
  const openData = composer.build(openDataConfig);
  const wechatEvents = composer.build(wechatEventsConfig);
  const content = composer.build(contentConfig);
  const http = composer.build(httpConfig);
  const database = composer.build(databaseConfig);
  const store = composer.build(storeConfig);
  const audit = composer.build(auditConfig);
  const users = composer.build(usersConfig);
  const metrics = composer.build(metricsConfig);
  if (
    composer.problems.length > 0 ||
    !runtime ||
    !logging ||
    !token ||
    !oauth ||
    !crypto ||
    !wechat ||
    !webOAuth ||
    !phone ||
    !risk ||
    !openData ||
    !wechatEvents ||
    !content ||
    !http ||
    !database ||
    !store ||
    !audit ||
    !users ||
    !metrics
  )
    throw new ConfigError(composer.problems);
  return {
    ...runtime,
    ...logging,
    ...token,
    ...oauth,
    ...crypto,
    ...wechat,
    ...webOAuth,
    ...phone,
    ...risk,
    ...openData,
    ...wechatEvents,
    ...content,
    ...http,
    ...database,
    ...store,
    ...audit,
    ...users,
    ...metrics,
    warnings: composer.warnings,
  };
}

/** Just the database part, for the migration CLI (no secrets needed, none generated). */
export function databaseConfigFromEnv(raw: Record<string, string | undefined>): DatabaseConfig {
  const values = ParsedValues.parse(CONFIG_SLICES, raw);
  const v = values.of(databaseConfig);
  return {
    ...parseDatabaseUrl(v.DATABASE_URL, runtimeFacts(values.of(runtimeConfig)).dataDir),
    migrateOnStart: false,
    synchronize: false,
    // A migration run by hand may rebuild a large table: no per-query deadline (the pool's wait stays bounded).
    limits: { ...databaseLimits(v), queryTimeoutMs: 0 },
  };
}

/** Runs the slices' builds in order with one context, collecting problems, warnings and the parts built. */
class Composer implements ConfigContext {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  readonly env: ConfigContext['env'];
  readonly isProd: boolean;
  readonly dataDir: string;
  readonly port: number;
  readonly synchronize: boolean;
  private readonly built: Partial<AppConfig> = {};

  constructor(
    private readonly values: ParsedValues,
    private readonly raw: Record<string, string | undefined>,
    opts: { synchronize?: boolean },
  ) {
    const facts = runtimeFacts(values.of(runtimeConfig));
    this.env = facts.env;
    this.isProd = facts.env === 'production';
    this.dataDir = facts.dataDir;
    this.port = facts.port;
    this.synchronize = opts.synchronize === true;
  }

  readonly problem = (message: string): void => void this.problems.push(message);
  readonly warn = (message: string): void => void this.warnings.push(message);
  readonly isSet = (name: string): boolean => this.raw[name] !== undefined && this.raw[name] !== '';

  build<V extends Variables, F extends Partial<AppConfig>>(slice: ConfigSlice<V, F>): F | undefined {
    const part = slice.build(this.values.of(slice), this, this.built);
    if (part) Object.assign(this.built, part);
    return part;
  }
}
