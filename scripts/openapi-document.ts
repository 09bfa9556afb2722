import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Builds the OpenAPI document the way the running app serves it at /docs-json,
 * from an app on an in-memory database with no WeChat sandbox (the sandbox is
 * not part of the partner contract).
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  // Loaded here, not at the top: `npm run openapi` regenerates swagger-metadata.ts first.
  const { NestFactory } = await import('@nestjs/core');
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const { AppModule } = await import('../src/app.module');
  const { buildOpenApiDocument, fastifyOptions, NEST_APP_OPTIONS } = await import('../src/app.setup');
  const { loadConfig } = await import('../src/config/load-config');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'sqlite::memory:',
    WECHAT_SANDBOX: 'false',
    WECHAT_APPID: 'wx_openapi',
    WECHAT_SECRET: 'unused',
    LOG_LEVEL: 'silent',
  });
  const app = await NestFactory.create(
    AppModule.forRoot(config),
    new FastifyAdapter(fastifyOptions(config)),
    { ...NEST_APP_OPTIONS, logger: false },
  );
  try {
    return await buildOpenApiDocument(app as never);
  } finally {
    await app.close();
  }
}

export function serialize(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
