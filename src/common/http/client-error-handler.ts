import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors/error-codes';

const CLIENT_ERROR_CODES: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  // Headers or body still incomplete at HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS (slowloris).
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (headers over
 * 16 KiB, garbage request lines, requests too slow to arrive) still get the error shape, not Node's bare answer.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const code = CLIENT_ERROR_CODES[err.code ?? ''] ?? 'MALFORMED_REQUEST';
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ statusCode: status, code, message, requestId: randomUUID() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
