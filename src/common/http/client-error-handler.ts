import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { ERRORS } from '../errors/error-codes';

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (headers over
 * 16 KiB, garbage request lines) still get the error shape, not Node's bare answer.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'MALFORMED_REQUEST';
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ statusCode: status, code, message, requestId: randomUUID() });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
