import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateOpenApiDocument, serialize } from './openapi-document';
import { generateSwaggerMetadata } from './swagger-metadata';

/** `npm run openapi`: refresh the Swagger plugin metadata, then write the partner contract to openapi.json. */
async function main(): Promise<void> {
  generateSwaggerMetadata();
  const file = join(__dirname, '..', 'openapi.json');
  writeFileSync(file, serialize(await generateOpenApiDocument()));
  process.stdout.write(`wrote ${file}\n`);
}

void main();
