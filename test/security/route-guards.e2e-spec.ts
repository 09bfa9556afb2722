import { ModulesContainer } from '@nestjs/core';
import request from 'supertest';
import { ACCESS, accessSecurity, type ResolvedAccess } from '../../src/common/auth/access.decorator';
import { controllerRoutes } from '../../src/common/auth/routes';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * Secure by default, proven from the router: every route is guarded unless it is on this list. A new
 * public route must be added here on purpose (and reviewed); a route that loses its guard fails below.
 */
const PUBLIC_ROUTES = [
  'POST /auth/wechat/login',
  'POST /auth/refresh',
  'GET /health',
  'GET /health/live',
  'GET /health/ready',
  // What partners verify our tokens with (issue 10): public keys and metadata, never a secret.
  'GET /.well-known/jwks.json',
  'GET /.well-known/oauth-authorization-server',
  // The browser login doors (issue 20): WeChat's redirects land here; the ticket is the credential.
  'GET /auth/wechat/oauth/authorize',
  'GET /auth/wechat/oauth/callback',
  'GET /auth/wechat/oauth/embed-config',
  'POST /auth/tickets/redeem',
  // The mobile app's login door (issue 20 §3): like the mini-program login, the WeChat code is the credential.
  'POST /auth/wechat/app/login',
  // WeChat's event push (issue 21 §3): authenticated by WeChat's signature (WECHAT_EVENT_TOKEN), not a bearer token.
  'GET /wechat/events',
  'POST /wechat/events',
].sort();

/** Server-to-server routes: a service client (HTTP Basic, SERVICE_CLIENTS) instead of a user's token. Reviewed too. */
const SERVICE_ROUTES = ['GET /internal/wechat/access-token', 'POST /oauth/introspect'].sort();

interface Route {
  method: string;
  path: string;
  openApiPath: string;
  controller: string;
  handler: string;
  cls: object;
  fn: object;
  access: ResolvedAccess;
  isPublic: boolean;
  isService: boolean;
  roles: readonly string[];
}

/** Every controller route of the running app with the policy AccessGuard enforces on it (the same resolution). */
function routesOf(t: TestApp): Route[] {
  return controllerRoutes(t.app.get(ModulesContainer)).map((r) => ({
    ...r,
    isPublic: r.access.kind === 'public',
    isService: r.access.kind === 'service',
    roles: r.access.kind === 'user' ? r.access.roles : [],
  }));
}

/** A concrete URL for a route pattern: path parameters get a well-formed UUID. */
const concrete = (path: string) => path.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');

describe('every route is guarded unless explicitly public', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let routes: Route[];

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    // The sandbox is off here (as in production); its routes are checked in sandbox.e2e-spec.ts.
    t = await createTestApp({ databaseUrl: db.url, wechatApiBase: wechat.baseUrl });
    routes = routesOf(t);
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  it('finds the routes (the enumeration itself works)', () => {
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toContain('GET /users/me');
  });

  it('the public routes are exactly the reviewed list', () => {
    expect(
      routes
        .filter((r) => r.isPublic)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(PUBLIC_ROUTES);
  });

  it('the service routes are exactly the reviewed list, and answer 401 INVALID_CLIENT without credentials', async () => {
    const service = routes.filter((r) => r.isService);
    expect(service.map((r) => `${r.method} ${r.path}`).sort()).toEqual(SERVICE_ROUTES);
    for (const r of service) {
      const method = r.method.toLowerCase() as 'get' | 'post';
      for (const authorization of [undefined, 'Bearer a.b.c']) {
        let req = request(t.server)[method](r.path);
        if (authorization) req = req.set('authorization', authorization);
        const res = await req.send(r.method === 'GET' ? undefined : {});
        expect(
          `${r.method} ${r.path} → ${res.status} ${res.body.code} ${res.headers['www-authenticate']}`,
        ).toBe(`${r.method} ${r.path} → 401 INVALID_CLIENT Basic realm="wechat-auth", charset="UTF-8"`);
      }
    }
    expect(wechat.calls).toHaveLength(0);
  });

  it('every other route answers 401 UNAUTHORIZED without a token, before doing anything', async () => {
    const guarded = routes.filter((r) => !r.isPublic && !r.isService);
    const answers = await Promise.all(
      guarded.map(async (r) => {
        const method = r.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
        const agent = request(t.server);
        const res = await agent[method](concrete(r.path)).send(
          r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
        );
        return `${r.method} ${r.path} → ${res.status} ${res.body.code}`;
      }),
    );
    expect(answers).toEqual(guarded.map((r) => `${r.method} ${r.path} → 401 UNAUTHORIZED`));
    expect(wechat.calls).toHaveLength(0);
  });

  it('every /admin route requires the admin role, and only /admin routes do', () => {
    for (const r of routes) {
      if (r.path.startsWith('/admin'))
        expect({ route: r.path, roles: r.roles }).toEqual({ route: r.path, roles: ['admin'] });
      else expect({ route: r.path, roles: r.roles }).toEqual({ route: r.path, roles: [] });
    }
  });

  it('every route has exactly one policy: declared once at most (controller or handler), one route per method and path', () => {
    const seen = new Map<string, ResolvedAccess>();
    for (const r of routes) {
      const declared = [Reflect.getMetadata(ACCESS, r.fn), Reflect.getMetadata(ACCESS, r.cls)].filter(
        (a) => a !== undefined,
      );
      const route = `${r.method} ${r.path} (${r.controller}.${r.handler})`;
      expect({ route, declarations: declared.length }).toEqual({
        route,
        declarations: declared.length ? 1 : 0,
      });
      // What the guard enforces is what is declared (no declaration: a user's token).
      expect({ route, access: r.access }).toEqual({
        route,
        access: declared[0] ?? { kind: 'user', roles: [] },
      });
      expect({ route, duplicate: seen.has(`${r.method} ${r.path}`) }).toEqual({ route, duplicate: false });
      seen.set(`${r.method} ${r.path}`, r.access);
    }
  });

  it("the OpenAPI document says what the guard enforces: each operation's security and 401/403/429 from its policy", async () => {
    const doc = (await request(t.server).get('/docs-json')).body as {
      security: unknown[];
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    // The default for an operation that would not say: a user's token.
    expect(doc.security).toEqual([{ bearer: [] }]);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Both ways: every route is documented, and every documented operation is a route.
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.openApiPath}`).sort());
    for (const r of routes) {
      const op = doc.paths[r.openApiPath][r.method.toLowerCase()];
      const route = `${r.method} ${r.path}`;
      expect({ route, security: op.security }).toEqual({ route, security: accessSecurity(r.access) });
      const statuses = Object.keys(op.responses);
      const required =
        r.access.kind === 'public'
          ? []
          : r.access.kind === 'user'
            ? ['401', ...(r.access.roles.length ? ['403'] : [])]
            : ['401', ...(r.access.wechatToken ? ['403'] : []), '429'];
      expect({ route, statuses: required.filter((s) => !statuses.includes(s)) }).toEqual({
        route,
        statuses: [],
      });
    }
  });
});
