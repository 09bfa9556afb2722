import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { FastifyInstance } from 'fastify';
import { AppException } from '../errors/app.exception';
import type { ErrorCode } from '../errors/error-codes';

/*
 * Requests that Fastify or Node used to answer themselves — bad URL encodings, over-long path
 * parameters, unknown Expect values, HTTP/1.1 without Host, anything during shutdown — with their
 * own bodies (the raw URL echoed, undocumented codes, no request id, no Retry-After, no security
 * headers, no access-log line). Here each is marked with its error code and sent down the normal
 * path: every onRequest hook (request id, security headers, access log) runs, then the preParsing
 * gate throws the AppException, and the exception filter renders it like any other error.
 */

const REJECTION = Symbol('rejection');
type MarkedRequest = IncomingMessage & { [REJECTION]?: ErrorCode };

/**
 * Where a request Fastify could not route is sent instead (its URL is the problem, so it cannot
 * be routed as it is, nor echoed). The access log shows this path with the request's status.
 */
export const REJECTED_URL = '/-/rejected';

/** Path parameters longer than this answer 414 URI_TOO_LONG (every id here is far shorter). */
export const MAX_PARAM_LENGTH = 100;

/** Fastify's `frameworkErrors`: router failures (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, …). */
export function frameworkErrors(
  error: { code: string },
  request: { raw: IncomingMessage | Http2ServerRequest; server: FastifyInstance },
  reply: { raw: ServerResponse | Http2ServerResponse },
): void {
  const code: ErrorCode =
    error.code === 'FST_ERR_BAD_URL'
      ? 'MALFORMED_REQUEST'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'URI_TOO_LONG'
        : 'INTERNAL_ERROR';
  // HTTP/1 only (fastifyOptions sets no http2).
  const raw = request.raw as IncomingMessage;
  raw.url = REJECTED_URL;
  redispatch(request.server, raw, reply.raw as ServerResponse, code);
}

function redispatch(
  instance: FastifyInstance,
  raw: IncomingMessage,
  res: ServerResponse,
  code: ErrorCode,
): void {
  (raw as MarkedRequest)[REJECTION] = code;
  instance.routing(raw, res);
}

const closing = new WeakSet<FastifyInstance>();

/**
 * From now on new requests answer 503 SERVICE_UNAVAILABLE and every answer carries `Connection: close`.
 * Graceful shutdown calls it before it stops listening; Fastify's close (preClose) calls it too.
 */
export function beginClosing(instance: FastifyInstance): void {
  closing.add(instance);
}

/**
 * Installs the gate: the preParsing hook that answers marked requests, requests without Host and
 * requests arriving during shutdown, and the listener that takes unknown Expect values from Node
 * (which would answer a bare 417). Runs after every onRequest hook, before any body is read.
 */
export function registerRequestGate(instance: FastifyInstance): void {
  // Fastify's own 503 (return503OnClosing) is off in fastifyOptions; this one is in the format.
  instance.addHook('preClose', (done) => {
    beginClosing(instance);
    done();
  });
  // Once closing, every answer closes its connection: a keep-alive socket must not outlive its last request.
  instance.addHook('onSend', (_request, reply, payload, done) => {
    if (closing.has(instance)) void reply.header('connection', 'close');
    done(null, payload);
  });
  // `Expect: 100-continue` is still Node's (100 Continue, then the request); anything else lands here.
  instance.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
    redispatch(instance, req, res, 'EXPECTATION_FAILED'),
  );
  instance.addHook('preParsing', (request, reply, payload, done) => {
    const raw = request.raw as MarkedRequest;
    const code =
      raw[REJECTION] ??
      (closing.has(instance)
        ? 'SERVICE_UNAVAILABLE'
        : // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (Node's check is off, see fastifyOptions).
          raw.httpVersion === '1.1' && raw.headers.host === undefined
          ? 'MALFORMED_REQUEST'
          : undefined);
    if (code === undefined) {
      done(null, payload);
      return;
    }
    done(new AppException(code));
  });
}
