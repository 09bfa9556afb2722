import { Keyset, MAX_CURSOR_LENGTH, type KeysetPosition } from '../common/pagination/keyset';
import type { AuthEvent } from './auth-event.entity';
import { EVENT_ID_PATTERN } from './event-id';

export { MAX_CURSOR_LENGTH };

/** Where a page of the audit trail ended: the last row's (occurred_at in ms, id). */
export type AuditCursor = KeysetPosition;

/** The audit trail's pages: newest first by (occurred_at, id), with ULID ids (query alias `e`). */
export const AUDIT_KEYSET = new Keyset<AuthEvent>({
  idPattern: EVENT_ID_PATTERN,
  timeColumn: 'e.occurredAt',
  idColumn: 'e.id',
  positionOf: (e) => ({ t: e.occurredAt.getTime(), id: e.id }),
});

export const encodeCursor = (cursor: AuditCursor): string => AUDIT_KEYSET.encode(cursor);
export const decodeCursor = (raw: string): AuditCursor => AUDIT_KEYSET.decode(raw);
