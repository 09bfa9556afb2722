import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
});
