import type { ServiceClient } from '../config/app-config';
import { defineSlice, integer, text } from '../config/config-slice';
import { weakSecretReason } from '../config/secret-strength';

/** The partner side: where partners reach us, and the back-ends allowed to call the service routes. */
export const oauthConfig = defineSlice({
  title: 'Partners',
  variables: {
    PUBLIC_URL: text({
      defaultDoc: 'the origin each request came to (with `TRUST_PROXY`)',
      format: 'absolute http(s) URL without query or fragment',
      pattern: /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/,
      invalid: 'must be an absolute http(s) URL without query or fragment, e.g. https://auth.example.com',
      operator: true,
      description:
        'the address partners reach this service at, for the links in `/.well-known/oauth-authorization-server`; ' +
        'set it in production behind a proxy',
    }),
    SERVICE_CLIENTS: text({
      defaultDoc: 'none (the service routes answer `401`)',
      format: '`id:secret,id2:secret2` (ids of `[A-Za-z0-9_.-]`, secrets without `,` or spaces)',
      pattern: /^\s*[A-Za-z0-9_.-]{1,64}:[^,\s]+(\s*,\s*[A-Za-z0-9_.-]{1,64}:[^,\s]+)*\s*$/,
      invalid: 'must be a comma-separated list of id:secret (ids of [A-Za-z0-9_.-])',
      operator: true,
      secret: true,
      description:
        'partner back-ends calling `/oauth/introspect` (and `/internal/…`) with HTTP Basic (a form-encoded secret ' +
        'is accepted too). In production each secret must be ≥ 32 characters and pass the `JWT_SECRET` entropy ' +
        'rule (`openssl rand -base64 32`); compared in constant time',
    }),
    WECHAT_TOKEN_CLIENTS: text({
      defaultDoc: '',
      format: 'comma-separated `SERVICE_CLIENTS` ids',
      pattern: /^\s*[A-Za-z0-9_.-]{1,64}(\s*,\s*[A-Za-z0-9_.-]{1,64})*\s*$/,
      invalid: 'must be a comma-separated list of SERVICE_CLIENTS ids',
      operator: true,
      description:
        'the service clients that may fetch the WeChat interface token (`GET /internal/wechat/access-token`); ' +
        'an id not in `SERVICE_CLIENTS` refuses to start',
    }),
    SERVICE_CLIENT_RATE_LIMIT: integer({
      default: 600,
      min: 1,
      max: 1000000,
      unit: 'calls a minute',
      description:
        'calls per service client, route and minute (fixed window in the shared store; per instance while Redis ' +
        'does not answer); beyond, `429 RATE_LIMITED` with `Retry-After`',
    }),
  },
  build(v, ctx) {
    if (ctx.isProd && !v.PUBLIC_URL)
      ctx.warn(
        'PUBLIC_URL is not set: /.well-known/oauth-authorization-server builds its links from each request ' +
          '(answered private, not for shared caches); set PUBLIC_URL to the address partners use',
      );

    const clients = new Map<string, ServiceClient>();
    for (const pair of list(v.SERVICE_CLIENTS)) {
      const i = pair.indexOf(':');
      const client = { id: pair.slice(0, i), secret: pair.slice(i + 1) };
      if (clients.has(client.id)) ctx.problem(`SERVICE_CLIENTS lists the client "${client.id}" twice`);
      // 32 characters of a generator's output (openssl rand -base64 32 gives 44) cannot be guessed online;
      // the secret guards introspection and the WeChat interface token, so it gets JWT_SECRET's entropy rule too.
      const weak = ctx.isProd ? weakSecretReason(client.secret) : undefined;
      if (ctx.isProd && client.secret.length < 32)
        ctx.problem(
          `SERVICE_CLIENTS: the secret of "${client.id}" must be at least 32 characters in production`,
        );
      else if (weak)
        ctx.problem(
          `SERVICE_CLIENTS: the secret of "${client.id}" is too weak for production (${weak}); generate one with \`openssl rand -base64 32\``,
        );
      clients.set(client.id, client);
    }
    const wechatTokenClients = new Set(list(v.WECHAT_TOKEN_CLIENTS));
    for (const id of wechatTokenClients)
      if (!clients.has(id))
        ctx.problem(`WECHAT_TOKEN_CLIENTS names "${id}", which is not in SERVICE_CLIENTS`);

    return {
      publicUrl: v.PUBLIC_URL?.replace(/\/+$/, ''),
      serviceClients: { clients, wechatTokenClients, rateLimitPerMinute: v.SERVICE_CLIENT_RATE_LIMIT },
    };
  },
});

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
