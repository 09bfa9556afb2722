import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors/error-codes';
import { API_CSP, helmetHeaders } from './security-headers';

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
  const requestId = randomUUID();
  const body = JSON.stringify({ statusCode: status, code, message, requestId });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      SECURITY_HEADERS +
      `X-Request-Id: ${requestId}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The same security headers as every other answer (registerSecurityHeaders), as raw header lines. */
const SECURITY_HEADERS = Object.entries({ ...helmetHeaders(), 'content-security-policy': API_CSP })
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');
