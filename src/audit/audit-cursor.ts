import { AppException } from '../common/errors/app.exception';
import { EVENT_ID_PATTERN } from './event-id';

/** Where a page ended: the last row's (occurred_at in ms, id). */
export interface AuditCursor {
  t: number;
  id: string;
}

export const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Years 1970 to 9999: what DATETIME holds.
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Opaque to clients (base64url JSON), but not a secret and not signed: it only says where to resume. The
 * filters are applied on every page independently of it, so a hand-made cursor can move within what the
 * caller may read anyway, never widen it; a malformed one is a VALIDATION_FAILED, never a 500.
 */
export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.t, id: cursor.id }), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): AuditCursor {
  const invalid = () => new AppException('VALIDATION_FAILED', { details: ['cursor is invalid'] });
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CURSOR_LENGTH || !BASE64URL.test(raw)) {
    throw invalid();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const keys = Object.keys(parsed);
  const { t, id } = parsed as Record<string, unknown>;
  if (
    keys.length !== 2 ||
    typeof t !== 'number' ||
    !Number.isSafeInteger(t) ||
    t < 0 ||
    t > MAX_MS ||
    typeof id !== 'string' ||
    !EVENT_ID_PATTERN.test(id)
  ) {
    throw invalid();
  }
  return { t, id };
}
