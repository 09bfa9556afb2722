import { defineSlice, integer, text } from '../../config/config-slice';

/** The shared store: several instances share state through Redis; without it, one instance keeps it in memory. */
export const storeConfig = defineSlice({
  title: 'Shared store (Redis)',
  variables: {
    REDIS_URL: text({
      defaultDoc: 'none (state in memory: one instance only)',
      format: '`redis://[:password@]host:6379/0` or `rediss://…`',
      pattern: /^rediss?:\/\//,
      invalid: 'must start with redis:// or rediss://',
      operator: true,
      // It may carry the Redis password.
      secret: true,
      description:
        'shared state for several instances: login-code ledger, WeChat minute-quota stop, interface ' +
        'access_token cache and its lock, phone-lookup caps, rate limits, revocations, sandbox state',
    }),
    REDIS_KEY_PREFIX: text({
      default: 'wxauth:',
      format: '1–64 characters of `[A-Za-z0-9:_.-]`',
      pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
      invalid: 'must be 1-64 characters of [A-Za-z0-9:_.-]',
      description: 'prefix of every key, so deployments can share one Redis',
    }),
    REDIS_OUTAGE_GRACE_S: integer({
      default: 30,
      min: 0,
      max: 86400,
      unit: 'seconds',
      mustBe: 'whole seconds',
      description:
        'an instance whose revocation feed from Redis broke keeps accepting access tokens from its in-memory ' +
        'copy this long; then Bearer routes and refresh answer `503 SERVICE_UNAVAILABLE` until the feed is back ' +
        'and re-read. `0`: fail closed at once',
    }),
  },
  build: (v) => ({
    redis: { url: v.REDIS_URL, keyPrefix: v.REDIS_KEY_PREFIX, outageGraceSeconds: v.REDIS_OUTAGE_GRACE_S },
  }),
});
