import type { FastifyInstance, FastifyRequest } from 'fastify';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import type { AppConfig } from './config/app-config';

/** DI token of the app's root pino logger (configureApp hangs the access log on it). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The app's one pino logger (nestjs-pino's Logger writes through it, and so does the access log
 * below). Headers are never logged, bodies never, URLs without their query string (a sandbox or
 * proxy URL can carry secrets). The access-log line and the error filter's line carry the request id;
 * lines logged deeper down name what they are about (appid, api, a code's hash) instead: a request
 * context in an AsyncLocalStorage cost ~40 % of the throughput of the hot paths (README, Benchmark).
 */
export function createRootLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: {
      paths: ['req.headers', 'res.headers', '*.secret', '*.session_key', '*.sessionKey', '*.code'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * One access-log line per answered request, from a Fastify hook: `{ req: { id, method, url }, res: {
 * statusCode }, responseTime }`, at error for 5xx, warn for 4xx, info otherwise; /health only when it fails.
 * (pino-http's middleware did this before: through Nest's middleware layer it built and serialized a
 * child logger on every request, whatever the level — ~20 % of the CPU of GET /auth/session.)
 */
export function registerAccessLog(instance: FastifyInstance, logger: Logger): void {
  instance.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    // Orchestrators poll /health every few seconds: only its failures are worth a line.
    if (logger.isLevelEnabled(level) && !(status < 400 && request.url.startsWith('/health')))
      logger[level](
        {
          ...requestFields(request),
          res: { statusCode: status },
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    done();
  });
  // The client went away before its answer (Fastify sends nothing then): not ours, not an outage.
  instance.addHook('onRequestAbort', (request, done) => {
    logger.debug(requestFields(request), 'request aborted by the client');
    done();
  });
}

function requestFields(request: FastifyRequest): { req: { id: string; method: string; url: string } } {
  return { req: { id: request.id, method: request.method, url: request.url.split('?')[0] } };
}
