import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import request from 'supertest';
import { IS_PUBLIC } from '../../src/common/auth/public.decorator';
import { REQUIRED_ROLES } from '../../src/common/auth/roles';
import { IS_SERVICE_ROUTE } from '../../src/token/service-route';
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
].sort();

/** Server-to-server routes: a service client (HTTP Basic, SERVICE_CLIENTS) instead of a user's token. Reviewed too. */
const SERVICE_ROUTES = ['GET /internal/wechat/access-token', 'POST /oauth/introspect'].sort();

interface Route {
  method: string;
  path: string;
  isPublic: boolean;
  isService: boolean;
  roles: string[];
}

/** Every controller route of the running app, from Nest's own metadata (what the router was built from). */
function routesOf(t: TestApp): Route[] {
  const reflector = new Reflector();
  const routes: Route[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!cls) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, cls) ?? '');
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        const full = `/${[base, path]
          .map((p) => p.replace(/^\/|\/$/g, ''))
          .filter(Boolean)
          .join('/')}`;
        routes.push({
          method: RequestMethod[method],
          path: full,
          isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, cls]) === true,
          isService: reflector.getAllAndOverride<boolean>(IS_SERVICE_ROUTE, [handler, cls]) === true,
          roles: reflector.getAllAndOverride<string[]>(REQUIRED_ROLES, [handler, cls]) ?? [],
        });
      }
    }
  }
  return routes;
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

  it('the OpenAPI document matches: bearer security and 401 on guarded operations, 403 on admin ones', async () => {
    const doc = (await request(t.server).get('/docs-json')).body as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    for (const r of routes) {
      const op = doc.paths[r.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[r.method.toLowerCase()];
      expect({ route: `${r.method} ${r.path}`, documented: op !== undefined }).toEqual({
        route: `${r.method} ${r.path}`,
        documented: true,
      });
      if (r.isPublic) continue;
      if (r.isService) {
        expect({ route: r.path, security: op.security }).toEqual({
          route: r.path,
          security: [{ serviceClient: [] }],
        });
        expect(Object.keys(op.responses)).toContain('401');
        continue;
      }
      expect({ route: r.path, security: op.security }).toEqual({ route: r.path, security: [{ bearer: [] }] });
      expect(Object.keys(op.responses)).toContain('401');
      if (r.roles.length) expect(Object.keys(op.responses)).toContain('403');
    }
  });
});
