import type { WechatAppCredentials } from '../config/app-config';
import { defineSlice, flag, integer, text } from '../config/config-slice';
import { isLoopbackUrl } from '../config/loopback';
import { isIdentityKind } from '../users/identity-kind';

/** The appid the sandbox answers for when no WECHAT_APPID is set. */
export const SANDBOX_DEFAULT_APPID = 'wxsandbox';
const SANDBOX_DEFAULT_SECRET = 'sandbox-secret-not-for-production';

/** The mini programs we log in for, where WeChat is, and how every call to it is bounded. */
export const wechatConfig = defineSlice({
  title: 'WeChat',
  variables: {
    WECHAT_APPID: text({
      defaultDoc: `required unless the sandbox is on (then \`${SANDBOX_DEFAULT_APPID}\`)`,
      format: '1–64 characters of `[A-Za-z0-9_-]`',
      pattern: /^[A-Za-z0-9_-]{1,64}$/,
      invalid: 'must be 1-64 characters of [A-Za-z0-9_-]',
      operator: true,
      description: 'the default mini program (a login naming no `appid` is for it)',
    }),
    WECHAT_SECRET: text({
      defaultDoc: 'required unless the sandbox is on',
      format: 'the AppSecret',
      operator: true,
      secret: true,
      description: "the default mini program's AppSecret",
    }),
    WECHAT_APPS: text({
      defaultDoc: '',
      format: '`appid2:secret2,appid3:secret3:app`',
      pattern: /^\s*([A-Za-z0-9_-]{1,64}:[^,\s]+)(\s*,\s*[A-Za-z0-9_-]{1,64}:[^,\s]+)*\s*$/,
      invalid: 'must be a comma-separated list of appid:secret',
      operator: true,
      secret: true,
      description:
        'more apps (a login picks one with `appid`); an entry for `WECHAT_APPID` overrides its secret. An optional ' +
        'third part is the kind of door: `miniprogram` (the default), `oa` (Official Account H5), `web` (website ' +
        'QR), `app` (mobile app); each login route takes only appids of its kind',
    }),
    WECHAT_SANDBOX: flag({
      defaultDoc: 'on in development and test when `WECHAT_SECRET` is unset',
      description:
        'the built-in fake WeChat at `/sandbox/wechat` (appid `wxsandbox`; it mints a login for any openid, so the ' +
        'service then listens on loopback unless `HOST` says otherwise); refused when `NODE_ENV=production`',
    }),
    WECHAT_API_BASE: text({
      defaultDoc: '`https://api.weixin.qq.com` (the sandbox: `http://127.0.0.1:$PORT/sandbox/wechat`)',
      format: 'http(s) URL without query or fragment',
      pattern: /^https?:\/\/[^\s?#]+$/,
      invalid: 'must be an http(s) URL without query or fragment',
      description:
        "WeChat's API. Production refuses `http://` (the AppSecret is a query parameter) unless the host is " +
        'loopback or `WECHAT_ALLOW_INSECURE_API_BASE=true`',
    }),
    WECHAT_ALLOW_INSECURE_API_BASE: flag({
      default: false,
      description:
        'lets production use an `http://` `WECHAT_API_BASE`, e.g. behind a TLS-terminating egress proxy on a ' +
        'trusted network',
    }),
    WECHAT_CONNECT_TIMEOUT_MS: integer({
      default: 1000,
      min: 50,
      max: 30000,
      unit: 'ms',
      description: 'TCP + TLS connect of one call to WeChat',
    }),
    WECHAT_TIMEOUT_MS: integer({
      default: 3000,
      min: 100,
      max: 30000,
      unit: 'ms',
      description: 'one attempt of a call to WeChat (capped by what is left of its deadline)',
    }),
    WECHAT_LOGIN_DEADLINE_MS: integer({
      default: 8000,
      min: 500,
      max: 55000,
      unit: 'ms',
      description:
        "the whole login (queueing, retries, backoff) answers within this; well under `wx.request`'s default 60 s",
    }),
    WECHAT_API_DEADLINE_MS: integer({
      default: 8000,
      min: 500,
      max: 55000,
      unit: 'ms',
      description:
        'every WeChat call other than login (interface token, phone number, session check) answers within this, ' +
        'queueing and retries included',
    }),
    WECHAT_MAX_RETRIES: integer({
      default: 2,
      min: 0,
      max: 5,
      description: 'extra attempts after a retryable failure',
    }),
    WECHAT_BREAKER_THRESHOLD: integer({
      default: 5,
      min: 1,
      max: 1000,
      description: 'consecutive upstream failures that open the circuit of an (appid, endpoint)',
    }),
    WECHAT_BREAKER_COOLDOWN_MS: integer({
      default: 30000,
      min: 100,
      max: 600000,
      unit: 'ms',
      description: 'how long an open circuit stays open',
    }),
    WECHAT_MAX_CONCURRENCY: integer({
      default: 16,
      min: 1,
      max: 1024,
      description: 'calls to WeChat in flight per (appid, endpoint) and instance',
    }),
    WECHAT_MAX_QUEUE: integer({
      default: 64,
      min: 0,
      max: 100000,
      description: 'calls allowed to wait for one of those slots; beyond, `503` at once',
    }),
    WECHAT_TOKEN_REFRESH_MARGIN_S: integer({
      default: 300,
      min: 60,
      max: 1800,
      unit: 'seconds',
      description: "the cached interface access_token is renewed this long before WeChat's `expires_in` ends",
    }),
    WECHAT_FORCE_REFRESH_DAILY_BUDGET: integer({
      default: 5,
      min: 0,
      max: 15,
      description:
        '`force_refresh` uses per app and day (WeChat allows 20); beyond it, an ' +
        '`alert: "WECHAT_FORCE_REFRESH_BUDGET"` error log and `503`',
    }),
  },
  build(v, ctx) {
    const sandbox = v.WECHAT_SANDBOX ?? (!ctx.isProd && v.WECHAT_SECRET === undefined);
    if (sandbox && ctx.isProd) ctx.problem('WECHAT_SANDBOX cannot be enabled when NODE_ENV=production');

    const apps = new Map<string, WechatAppCredentials>();
    const defaultAppid = v.WECHAT_APPID ?? (sandbox ? SANDBOX_DEFAULT_APPID : undefined);
    const defaultSecret = v.WECHAT_SECRET ?? (sandbox ? SANDBOX_DEFAULT_SECRET : undefined);
    if (!defaultAppid || !defaultSecret)
      ctx.problem('WECHAT_APPID and WECHAT_SECRET are required unless WECHAT_SANDBOX=true');
    else apps.set(defaultAppid, { appid: defaultAppid, secret: defaultSecret });
    for (const app of parseApps(v.WECHAT_APPS)) apps.set(app.appid, app);

    const apiBase = (
      v.WECHAT_API_BASE ??
      (sandbox ? `http://127.0.0.1:${ctx.port}/sandbox/wechat` : 'https://api.weixin.qq.com')
    ).replace(/\/+$/, '');
    // The AppSecret is a query parameter of jscode2session: in production it must not cross a network in clear.
    if (
      ctx.isProd &&
      !apiBase.startsWith('https://') &&
      !isLoopbackUrl(apiBase) &&
      !v.WECHAT_ALLOW_INSECURE_API_BASE
    )
      ctx.problem(
        'WECHAT_API_BASE must be https:// in production (it carries the AppSecret); a loopback host or ' +
          'WECHAT_ALLOW_INSECURE_API_BASE=true (e.g. behind a TLS-terminating egress proxy) is the only exception',
      );
    if (sandbox && ctx.env === 'development')
      ctx.warn(`WeChat sandbox enabled: logins go to ${apiBase}, not to WeChat`);
    if (!defaultAppid) return undefined;

    return {
      wechat: {
        defaultAppid,
        apps,
        apiBase,
        sandbox,
        connectTimeoutMs: v.WECHAT_CONNECT_TIMEOUT_MS,
        timeoutMs: v.WECHAT_TIMEOUT_MS,
        loginDeadlineMs: v.WECHAT_LOGIN_DEADLINE_MS,
        maxRetries: v.WECHAT_MAX_RETRIES,
        breakerThreshold: v.WECHAT_BREAKER_THRESHOLD,
        breakerCooldownMs: v.WECHAT_BREAKER_COOLDOWN_MS,
        maxConcurrency: v.WECHAT_MAX_CONCURRENCY,
        maxQueue: v.WECHAT_MAX_QUEUE,
        apiDeadlineMs: v.WECHAT_API_DEADLINE_MS,
        accessTokenMarginSeconds: v.WECHAT_TOKEN_REFRESH_MARGIN_S,
        forceRefreshDailyBudget: v.WECHAT_FORCE_REFRESH_DAILY_BUDGET,
      },
    };
  },
});

function parseApps(list: string | undefined): WechatAppCredentials[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const i = entry.indexOf(':');
      const appid = entry.slice(0, i);
      const rest = entry.slice(i + 1);
      // `secret:kind` when the last part names a kind (AppSecrets are hex, so never end in one).
      const k = rest.lastIndexOf(':');
      const kind = k > 0 ? rest.slice(k + 1) : '';
      if (isIdentityKind(kind)) return { appid, secret: rest.slice(0, k), kind };
      return { appid, secret: rest };
    });
}
