import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { ERRORS } from '../common/errors/error-codes';
import type { AppConfig } from '../config/app-config';
import { type Metrics, methodLabel, type RouteSeries, UNMATCHED_ROUTE } from './metrics';

export const METRICS_PATH = '/metrics';

type MetricsConfig = AppConfig['metrics'];

/** Metrics are served (and so recorded per request) when a token or a port of their own is configured. */
export function metricsEnabled(config: MetricsConfig): boolean {
  return config.token !== undefined || config.port !== undefined;
}

/**
 * The request-duration histogram and, with METRICS_TOKEN alone, `GET /metrics` on the API port. Must run
 * before the routes are registered (configureApp, before Nest's init): each route gets its own onResponse
 * hook closed over its series, so a request does no lookup, builds no label object and reads no
 * `routeOptions` (a getter that allocates). Requests no route matched share one "unmatched" series per method.
 * Nothing at all is added when metrics are off.
 */
export function registerMetrics(instance: FastifyInstance, metrics: Metrics, config: MetricsConfig): void {
  if (!metricsEnabled(config)) return;
  instance.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const methods = [route.method].flat().map((m) => m.toUpperCase());
    const byMethod = new Map(methods.map((m) => [m, metrics.routeSeries(url, m)]));
    const single = methods.length === 1 ? byMethod.get(methods[0]) : undefined;
    const hook: onResponseHookHandler = (request, reply, done) => {
      const series = single ?? byMethod.get(request.method);
      if (series) metrics.observeRoute(series, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = route.onResponse ? [...[route.onResponse].flat(), hook] : [hook];
  });
  const unmatched = new Map<string, RouteSeries>();
  instance.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      // Keyed by the label, not the method: every method beyond the common seven shares one OTHER series.
      const method = methodLabel(request.method);
      let series = unmatched.get(method);
      if (!series) unmatched.set(method, (series = metrics.routeSeries(UNMATCHED_ROUTE, method)));
      metrics.observeRoute(series, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });
  if (config.port !== undefined) {
    // With the HTTP server only (configureApp): the operator CLI builds the same modules and must not take the port.
    let server: Server | undefined;
    instance.addHook('onReady', async () => {
      server = await startMetricsServer(metrics, config);
      new Logger('Metrics').log(
        { host: config.host, port: config.port, token: config.token !== undefined },
        'metrics served on their own port',
      );
    });
    instance.addHook('onClose', async () => {
      await stopMetricsServer(server);
      server = undefined;
    });
  }
  if (config.port === undefined && config.token !== undefined) {
    const authorized = bearerCheck(config.token);
    // A plain Fastify route, not a controller: never in the OpenAPI document, and its only policy is the token.
    instance.get(METRICS_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
      if (!authorized(request.headers.authorization))
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send(unauthorizedBody(request.id));
      return reply
        .header('content-type', metrics.contentType)
        .header('cache-control', 'no-store')
        .send(await metrics.render());
    });
  }
}

/** Compares SHA-256 digests in constant time: neither the token's length nor a prefix leaks. */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    if (!match) return false;
    return timingSafeEqual(createHash('sha256').update(match[1]).digest(), expected);
  };
}

function unauthorizedBody(requestId: string | undefined): Record<string, unknown> {
  return {
    statusCode: 401,
    code: 'UNAUTHORIZED',
    message: ERRORS.UNAUTHORIZED.message,
    ...(requestId ? { requestId } : {}),
  };
}

/**
 * METRICS_PORT: a bare HTTP server with one route, apart from the API (its own interface, no API hooks),
 * requiring METRICS_TOKEN when that is set. Resolves once listening; rejects when the port is taken.
 */
export async function startMetricsServer(
  metrics: Metrics,
  config: MetricsConfig,
): Promise<Server | undefined> {
  if (config.port === undefined) return undefined;
  const authorized = config.token === undefined ? () => true : bearerCheck(config.token);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ statusCode: 404, code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message }));
      return;
    }
    if (!authorized(req.headers.authorization)) {
      res.writeHead(401, {
        'content-type': 'application/json; charset=utf-8',
        'www-authenticate': 'Bearer realm="metrics"',
      });
      res.end(JSON.stringify(unauthorizedBody(undefined)));
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
  });
  // Scrapers keep connections open: they must not hold the process at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function stopMetricsServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
