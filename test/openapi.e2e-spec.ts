import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateOpenApiDocument, serialize } from '../scripts/openapi-document';
import { generateSwaggerMetadata } from '../scripts/swagger-metadata';

const ROOT = join(__dirname, '..');

/** The partner contract never drifts silently: run `npm run openapi` and commit when these fail. */
describe('OpenAPI contract', () => {
  it('src/swagger-metadata.ts is what the Swagger CLI plugin makes of the current code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxauth-meta-'));
    try {
      generateSwaggerMetadata(dir, 'swagger-metadata.ts');
      expect(readFileSync(join(dir, 'swagger-metadata.ts'), 'utf8')).toBe(
        readFileSync(join(ROOT, 'src/swagger-metadata.ts'), 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('openapi.json is what the app generates', async () => {
    const generated = serialize(await generateOpenApiDocument());
    expect(generated).toBe(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));
  });

  it("passes Redocly's recommended ruleset (pinned @redocly/cli, redocly.yaml) with 0 errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxauth-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, serialize(await generateOpenApiDocument()));
      const lint = spawnSync(
        join(ROOT, 'node_modules/.bin/redocly'),
        ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format=json'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 60_000,
          // Offline: no usage data, no update check (redocly.yaml also says telemetry: off).
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      );
      expect(lint.error).toBeUndefined();
      const report = JSON.parse(lint.stdout) as {
        totals: { errors: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(lint.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('marks exactly the `@Access({ public: true })` operations `security: []`; the rest need a credential', async () => {
    const document = await generateOpenApiDocument();
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(document.security).toEqual([{ bearer: [] }]);
    const open = Object.entries(document.paths)
      .flatMap(([path, item]) =>
        Object.entries(item as Record<string, { security?: unknown[] }>).map(([method, op]) => ({
          route: `${method.toUpperCase()} ${path}`,
          security: op.security,
        })),
      )
      .filter((op) => op.security?.length === 0)
      .map((op) => op.route)
      .sort();
    expect(open).toEqual(
      [
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'POST /auth/refresh',
        'POST /auth/wechat/login',
        // WeChat's message push: the signature over the shared Token is the authentication.
        'GET /wechat/events',
        'POST /wechat/events',
        'POST /auth/wechat/app/login',
        // The browser doors (Official Account H5, website QR): WeChat's redirects; the ticket is the credential.
        'GET /auth/wechat/oauth/authorize',
        'GET /auth/wechat/oauth/callback',
        'GET /auth/wechat/oauth/embed-config',
        'POST /auth/tickets/redeem',
        'GET /.well-known/jwks.json',
        'GET /.well-known/oauth-authorization-server',
      ].sort(),
    );
  });

  it('documents the service routes with the serviceClient (HTTP Basic) scheme', async () => {
    const document = await generateOpenApiDocument();
    expect(document.components?.securitySchemes?.serviceClient).toMatchObject({
      type: 'http',
      scheme: 'basic',
    });
    for (const [path, method] of [
      ['/oauth/introspect', 'post'],
      ['/internal/wechat/access-token', 'get'],
    ] as const)
      expect(document.paths[path]?.[method]?.security).toEqual([{ serviceClient: [] }]);
  });
});
