import type { ServiceClient } from '../config/app-config';
import { defineSlice, integer, text } from '../config/config-slice';
import { isLoopbackHost } from '../config/loopback';
import { weakSecretReason } from '../config/secret-strength';

/** The partner side: where partners reach us, and the back-ends allowed to call the service routes. */
export const oauthConfig = defineSlice({
  title: 'Partners',
  variables: {
    PUBLIC_URL: text({
      defaultDoc: 'required in production; elsewhere the origin each request came to',
      format: 'an origin: `https://host[:port]`, no path, query, fragment or credentials',
      // Only the shape here; what production requires of it is in `build`.
      pattern: /^https?:\/\/[^\s/?#@]+\/?$/,
      invalid:
        'must be an origin like https://auth.example.com (scheme, host, optional port; no path, query, fragment ' +
        'or credentials)',
      operator: true,
      description:
        'the address partners reach this service at: the RFC 8414 `issuer` of `/.well-known/oauth-authorization-server` ' +
        'and the base of its links. Production requires it, https (http only for a loopback host), and never builds ' +
        'the metadata from the Host header. An origin only: RFC 8414 publishes the metadata of an issuer with a path ' +
        'under `/.well-known/oauth-authorization-server/<path>` at the host root, which a path-prefix proxy does not ' +
        'route here',
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
  build(v, ctx, built) {
    const publicUrl = parsePublicUrl(v.PUBLIC_URL, ctx.isProd, ctx.problem);
    // Both claim to be the issuer identifier: a URL issuer that is not PUBLIC_URL makes the tokens' `iss`
    // differ from the metadata's `issuer`, which partners that take it from the metadata then refuse.
    const issuer = built.jwt?.issuer;
    if (publicUrl && issuer && issuer !== publicUrl && /^https?:\/\//i.test(issuer))
      ctx.warn(
        'JWT_ISSUER is a URL but not PUBLIC_URL: access tokens carry a different `iss` than the `issuer` of ' +
          '/.well-known/oauth-authorization-server; partners that read it from there will refuse them',
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
      publicUrl,
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

/**
 * The RFC 8414 issuer identifier (an https URL without query or fragment, RFC 8414 §2) as its origin.
 * Production requires it: without it the metadata could only be built from the Host header.
 */
function parsePublicUrl(
  value: string | undefined,
  isProd: boolean,
  problem: (message: string) => void,
): string | undefined {
  if (value === undefined) {
    if (isProd)
      problem(
        'PUBLIC_URL is required in production: the https origin partners reach this service at, e.g. ' +
          'https://auth.example.com (the issuer and links of /.well-known/oauth-authorization-server)',
      );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem('PUBLIC_URL is not a valid URL');
    return undefined;
  }
  if (isProd && url.protocol !== 'https:' && !isLoopbackHost(url.hostname))
    problem(
      'PUBLIC_URL must be https:// in production (RFC 8414 issuer); only a loopback host may use http://',
    );
  return url.origin;
}
