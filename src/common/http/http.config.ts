import { defineSlice, flag, integer, text } from '../../config/config-slice';

/** Where the server listens, whom it believes, what it lets browsers do, and how long it waits. */
export const httpConfig = defineSlice({
  title: 'HTTP',
  variables: {
    HOST: text({
      defaultDoc: '`0.0.0.0` (`127.0.0.1` while the WeChat sandbox is on: it mints logins for any openid)',
      format: 'an address to listen on',
      operator: true,
      description: 'listen address',
    }),
    TRUST_PROXY: text({
      default: 'false',
      format: '`false`, `true`, a hop count, or comma-separated proxy addresses/CIDRs',
      pattern: /^(true|false|\d{1,2}|[0-9a-fA-F:./]+(\s*,\s*[0-9a-fA-F:./]+)*)$/,
      invalid: 'must be true, false, a hop count, or a comma-separated list of proxy IPs/CIDRs',
      operator: true,
      description:
        'behind reverse proxies, the number of proxy hops (`1`) or their addresses (`10.0.0.0/8,10.1.2.3`), so rate ' +
        'limits see the client IP the proxy appended to `X-Forwarded-For`. `true` believes the left-most ' +
        'address, which a client can forge',
    }),
    CORS_ORIGINS: text({
      defaultDoc: 'none (CORS off: no `Access-Control-*` headers)',
      format: 'comma-separated origins, e.g. `https://admin.example.com`',
      pattern: /^\s*https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*\s*$/,
      invalid: 'must be a comma-separated list of origins like https://admin.example.com (no paths)',
      operator: true,
      description: 'exact origins allowed by CORS; no credentials; methods `GET, POST, PATCH, DELETE`',
    }),
    SWAGGER_ENABLED: flag({
      defaultDoc: 'on, except under `NODE_ENV=production`',
      description: 'Swagger UI at `/docs` and its JSON at `/docs-json`; when off they answer `404`',
    }),
    LOGIN_RATE_LIMIT: integer({
      default: 30,
      min: 1,
      max: 100000,
      unit: 'a minute',
      description:
        'requests per client IP and minute, counted separately for `/auth/wechat/login` and `/auth/refresh`; in ' +
        'the shared store (per instance while Redis does not answer)',
    }),
    HTTP_HEADERS_TIMEOUT_MS: integer({
      default: 10_000,
      min: 500,
      max: 120000,
      unit: 'ms',
      mustBe: 'whole milliseconds',
      description:
        'the request line and headers must arrive within this, else `408 REQUEST_TIMEOUT` (slowloris); checked ' +
        'every second; at most `HTTP_REQUEST_TIMEOUT_MS`',
    }),
    HTTP_REQUEST_TIMEOUT_MS: integer({
      default: 15_000,
      min: 500,
      max: 300000,
      unit: 'ms',
      mustBe: 'whole milliseconds',
      description: 'the whole request, body included, must arrive within this (not the time to answer it)',
    }),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer({
      // Above the 60 s idle timeout of common load balancers, so they close first (Fastify's own default).
      default: 72_000,
      min: 1000,
      max: 600000,
      unit: 'ms',
      mustBe: 'whole milliseconds',
      description:
        "an idle keep-alive connection closes after this; keep it above your load balancer's idle timeout (60 s on most)",
    }),
    SHUTDOWN_GRACE_MS: integer({
      // Covers a login at its deadline (WECHAT_LOGIN_DEADLINE_MS, 8 s) and fits Docker's 10 s stop timeout.
      default: 9_000,
      min: 0,
      max: 600000,
      unit: 'ms',
      mustBe: 'whole milliseconds',
      description:
        "on `SIGTERM`/`SIGINT`, requests in flight get this long to finish (a login at its 8 s deadline fits; so does Docker's 10 s stop timeout) before their connections are closed",
    }),
  },
  build(v, ctx, built) {
    // Node refuses a server whose headers may take longer than the whole request.
    if (v.HTTP_HEADERS_TIMEOUT_MS > v.HTTP_REQUEST_TIMEOUT_MS)
      ctx.problem('HTTP_HEADERS_TIMEOUT_MS cannot be larger than HTTP_REQUEST_TIMEOUT_MS');
    return {
      // The sandbox lets anyone mint a login for any openid: keep it on loopback unless HOST says otherwise.
      host: v.HOST ?? (built.wechat?.sandbox ? '127.0.0.1' : '0.0.0.0'),
      trustProxy: parseTrustProxy(v.TRUST_PROXY),
      loginRateLimitPerMinute: v.LOGIN_RATE_LIMIT,
      http: {
        swaggerEnabled: v.SWAGGER_ENABLED ?? !ctx.isProd,
        corsOrigins: v.CORS_ORIGINS ? v.CORS_ORIGINS.split(',').map((o) => o.trim()) : [],
        headersTimeoutMs: v.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: v.HTTP_REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: v.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
      },
    };
  },
});

function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((s) => s.trim());
}
