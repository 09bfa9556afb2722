import { defineSlice, integer, text } from '../config/config-slice';
import { weakSecretReason } from '../config/secret-strength';

/**
 * Prometheus metrics (`GET /metrics`): off unless METRICS_TOKEN or METRICS_PORT is set. The scrape shows
 * traffic, WeChat's health and quota use, which is not for the public: on the API's own port it always
 * needs the token; on its own port it is bound to loopback unless METRICS_HOST says otherwise.
 */
export const metricsConfig = defineSlice({
  title: 'Metrics (Prometheus)',
  variables: {
    METRICS_TOKEN: text({
      defaultDoc: 'none',
      format: '≥ 32 bytes; in production ≥ 256 bits of randomness (`openssl rand -base64 48`)',
      operator: true,
      secret: true,
      description:
        '`GET /metrics` (Prometheus text format) on the API port, for scrapers sending ' +
        '`Authorization: Bearer <token>` (401 otherwise). With `METRICS_PORT` set, that port requires it instead. ' +
        'Neither set: no metrics route (404). In production held to the `JWT_SECRET` rules',
    }),
    METRICS_PORT: integer({
      defaultDoc: 'none (no separate port)',
      min: 1,
      max: 65535,
      operator: true,
      description:
        'serve `GET /metrics` on this port of its own (bound to `METRICS_HOST`) instead of the API port; ' +
        'requires `METRICS_TOKEN` too when that is set',
    }),
    METRICS_HOST: text({
      default: '127.0.0.1',
      format: 'an IP address or host name',
      pattern: /^[A-Za-z0-9.:[\]-]{1,253}$/,
      invalid: 'must be an IP address or host name',
      description:
        'the interface `METRICS_PORT` listens on: loopback by default; an internal interface (or `0.0.0.0` in a ' +
        'container, with the port not published) for a Prometheus elsewhere',
    }),
  },
  build(v, ctx) {
    if (v.METRICS_TOKEN !== undefined) {
      if (Buffer.byteLength(v.METRICS_TOKEN) < 32) {
        ctx.problem('METRICS_TOKEN must be at least 32 bytes');
        return undefined;
      }
      // Never the value, only which rule it broke.
      const reason = ctx.isProd ? weakSecretReason(v.METRICS_TOKEN) : undefined;
      if (reason) {
        ctx.problem(
          `METRICS_TOKEN is too weak for production (${reason}): use at least 32 random bytes, ` +
            'e.g. `openssl rand -base64 48`',
        );
        return undefined;
      }
    }
    if (v.METRICS_PORT !== undefined && v.METRICS_PORT === ctx.port) {
      ctx.problem(
        'METRICS_PORT must differ from PORT (set only METRICS_TOKEN to serve /metrics on the API port)',
      );
      return undefined;
    }
    if (ctx.isSet('METRICS_HOST') && v.METRICS_PORT === undefined)
      ctx.warn('METRICS_HOST is set without METRICS_PORT: it has no effect');
    return { metrics: { token: v.METRICS_TOKEN, port: v.METRICS_PORT, host: v.METRICS_HOST } };
  },
});
