import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import type { AppConfig } from './config/app-config';

/** DI token of the app's root pino logger (configureApp hangs the access log on it). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The app's one pino logger (nestjs-pino's Logger writes through it, and so does the access log
 * below). Headers are never logged, bodies never, URLs without their query string (a sandbox or
 * proxy URL can carry secrets). The access-log line (`req.id`) and the error filter's line carry the
 * request id, and so do the lines that matter deeper down (`requestId`): every WeChat call's failures,
 * retries, shedding and breaker changes, and audit writes that failed. Those get it from the
 * RequestContext their callers pass down explicitly (@ReqContext() → services → WechatApi.call /
 * AuditService.record), not from an AsyncLocalStorage: its process-wide promise hooks cost ~40 % of the
 * throughput of the hot paths (docs/benchmark.md). Other lines name what they are about (appid, api,
 * a code's hash).
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

/** The readiness probes' routes (health/health.controller.ts). */
const READINESS_ROUTES: ReadonlySet<string> = new Set(['/health', '/health/ready']);

/**
 * One access-log line per answered request, from a Fastify hook: `{ req: { id, method, url }, res: {
 * statusCode }, responseTime }`, at error for 5xx, warn for 4xx, info otherwise; none for /health's answers.
 * (pino-http's middleware did this before: through Nest's middleware layer it built and serialized a
 * child logger on every request, whatever the level — ~20 % of the CPU of GET /auth/session.)
 */
export function registerAccessLog(instance: FastifyInstance, logger: Logger): void {
  instance.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    // Orchestrators poll /health every few seconds (and anyone may flood it): its answers get no line, nor
    // do the readiness routes' 503s — Readiness logs which dependency is down once per change.
    const probe =
      request.url.startsWith('/health') &&
      (status < 400 || (status === 503 && READINESS_ROUTES.has(request.routeOptions.url ?? '')));
    if (logger.isLevelEnabled(level) && !probe)
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

type NestLevel = 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal';

/**
 * Nest's logger while the app is being created (before nestjs-pino's Logger can be injected): the same
 * JSON lines on the same root logger, so a start-up failure (database unreachable, Redis down) reaches
 * the log pipeline like everything else — not Nest's coloured text with multi-line stacks. Arguments as
 * Nest passes them: `(message | object, ...params, context)`; for errors the first param is the stack.
 */
export function bootLogger(root: Logger): LoggerService {
  const write = (level: NestLevel, message: unknown, params: unknown[]): void => {
    const rest = [...params];
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? rest.pop() : undefined;
    const extra = level === 'error' && typeof rest[0] === 'string' ? { stack: rest.shift() } : {};
    if (message instanceof Error) {
      // The code beside err, not in it: `*.code` is redacted (login codes travel under that name).
      const err = { name: message.name, message: message.message, stack: message.stack };
      root[level]({ context, code: codeOf(message), err }, message.message);
    } else if (message !== null && typeof message === 'object')
      root[level]({ context, ...extra, ...message }, typeof rest[0] === 'string' ? rest[0] : undefined);
    else root[level]({ context, ...extra }, String(message));
  };
  return {
    log: (m: unknown, ...p: unknown[]) => write('info', m, p),
    error: (m: unknown, ...p: unknown[]) => write('error', m, p),
    warn: (m: unknown, ...p: unknown[]) => write('warn', m, p),
    debug: (m: unknown, ...p: unknown[]) => write('debug', m, p),
    verbose: (m: unknown, ...p: unknown[]) => write('trace', m, p),
    fatal: (m: unknown, ...p: unknown[]) => write('fatal', m, p),
  };
}

function codeOf(e: Error): unknown {
  return (e as { code?: unknown }).code;
}
