import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, fastifyOptions, NEST_APP_OPTIONS } from './app.setup';
import { exitGracefullyOnSignals } from './common/http/graceful-shutdown';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig } from './config/load-config';
import { bootLogger, createRootLogger } from './logging';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      // Plain stderr: the logger is configured from this very configuration.
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const root = createRootLogger(config);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, { logger: root }),
    new FastifyAdapter(fastifyOptions(config)),
    // JSON from the first line on, also when creating the app fails (see bootLogger).
    { ...NEST_APP_OPTIONS, logger: bootLogger(root) },
  );
  await configureApp(app, config);
  exitGracefullyOnSignals(app, { graceMs: config.http.shutdownGraceMs, logger: app.get(Logger) });
  await app.listen(config.port, config.host);
}

void bootstrap();
