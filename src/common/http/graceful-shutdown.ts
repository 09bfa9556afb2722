import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { closeLingering } from './lingering-close';
import { beginClosing } from './request-gate';

export type DrainOutcome = 'drained' | 'cut';

/**
 * Stops taking work and waits for the requests in flight, at most `graceMs`:
 *  - the listening socket closes (a load balancer's next connection goes to another instance);
 *  - idle keep-alive connections close now (and those read only to let an answered client finish its
 *    upload: lingering-close.ts), and every answer from here on carries `Connection: close`,
 *    so a connection closes as soon as its last request is answered (Fastify's own close only reaps the
 *    connections idle at that instant: the others would live on for the whole keep-alive timeout);
 *  - a request arriving on a still-open connection answers 503 SERVICE_UNAVAILABLE (request-gate.ts);
 *  - after `graceMs` the connections still open are closed, their requests cut.
 * Resolves once no connection is left; the database pool and Redis are still open, for `app.close()`.
 */
export async function drainHttp(instance: FastifyInstance, graceMs: number): Promise<DrainOutcome> {
  beginClosing(instance);
  const server = instance.server;
  // Called back when the last connection is gone (or at once, with ERR_SERVER_NOT_RUNNING, if not listening).
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Connections kept open only to read the rest of a body already answered (lingering-close.ts).
  closeLingering(instance);
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'cut'>((resolve) => {
    timer = setTimeout(() => resolve('cut'), graceMs);
  });
  const outcome = await Promise.race([closed.then(() => 'drained' as const), graceOver]);
  clearTimeout(timer);
  if (outcome === 'cut') {
    server.closeAllConnections();
    await closed;
  }
  return outcome;
}

/**
 * SIGTERM / SIGINT: drain HTTP (above), then `app.close()` — Nest's shutdown hooks let the audit writes
 * in flight land, then close WeChat's connection pool, Redis and the database — then exit 0. Instead of
 * Nest's `enableShutdownHooks()`, which closes the database and Redis *before* the HTTP server (so the
 * requests it then waits for fail) and leaves idle keep-alive connections open.
 * A second signal, or a close that hangs past the grace period plus `closeTimeoutMs`, exits 1 at once.
 */
export function exitGracefullyOnSignals(
  app: NestFastifyApplication,
  opts: { graceMs: number; logger: LoggerService; closeTimeoutMs?: number },
): void {
  const { graceMs, logger } = opts;
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn?.(`${signal} again: exiting without waiting`, 'Shutdown');
      process.exit(1);
    }
    shuttingDown = true;
    setTimeout(
      () => {
        logger.error('shutdown did not finish in time: exiting', undefined, 'Shutdown');
        process.exit(1);
      },
      graceMs + (opts.closeTimeoutMs ?? 10_000),
    ).unref();
    logger.log(`${signal}: draining requests in flight (grace ${graceMs} ms)`, 'Shutdown');
    void (async () => {
      const outcome = await drainHttp(app.getHttpAdapter().getInstance(), graceMs);
      if (outcome === 'cut')
        logger.warn?.(
          `requests still in flight after ${graceMs} ms were cut (SHUTDOWN_GRACE_MS)`,
          'Shutdown',
        );
      await app.close();
      logger.log('shut down cleanly', 'Shutdown');
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error(
        `shutdown failed: ${err instanceof Error ? err.message : String(err)}`,
        undefined,
        'Shutdown',
      );
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
