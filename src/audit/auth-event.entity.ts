import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CASE_SENSITIVE_COLLATION } from '../database/collation';
import type { AuthEventType } from './auth-event-type';

/**
 * One thing that happened to an account (`auth_events`). Written only by AuditService, which never updates a
 * row except to erase personal data (`forgetUser`) and deletes only past the retention (`purgeOlderThan`).
 *
 * No foreign key to `users`: the rows outlive a deleted user (PIPL deletion keeps the trail, without personal
 * data), and an insert must never wait on, or fail because of, the users table.
 */
@Entity('auth_events')
// Newest-first pages and the keyset cursor (occurred_at, id); the purge's range scan.
@Index('ix_auth_events_occurred_at_id', ['occurredAt', 'id'])
// "What happened to this user", newest first; forgetUser.
@Index('ix_auth_events_user_id_occurred_at', ['userId', 'occurredAt'])
@Index('ix_auth_events_type_occurred_at', ['type', 'occurredAt'])
// forgetUser of a deleted admin: without it the UPDATE would scan (and on InnoDB lock) the whole table.
@Index('ix_auth_events_actor_id', ['actorId'])
export class AuthEvent {
  /**
   * A ULID (26 Crockford base32 characters, the first 10 the time in ms): sortable, so ties on occurred_at have
   * a stable order for the cursor, and unguessable. Binary collation on MySQL: compared byte for byte like SQLite.
   */
  @PrimaryColumn({ type: 'varchar', length: 26, collation: CASE_SENSITIVE_COLLATION })
  id: string;

  /** UTC, millisecond precision (DATETIME(3) on MySQL/MariaDB; SQLite keeps the text `YYYY-MM-DD HH:MM:SS.SSS`). */
  @Column({ name: 'occurred_at', type: 'datetime', precision: 3 })
  occurredAt: Date;

  @Column({ type: 'varchar', length: 32 })
  type: AuthEventType;

  /** The account the event is about. A random UUID: once the user row is deleted it resolves to no one. */
  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId: string | null;

  /** The admin who did it (admin actions only). */
  @Column({ name: 'actor_id', type: 'varchar', length: 36, nullable: true })
  actorId: string | null;

  // WeChat ids are case-sensitive (see CASE_SENSITIVE_COLLATION).
  @Column({ type: 'varchar', length: 64, nullable: true, collation: CASE_SENSITIVE_COLLATION })
  appid: string | null;

  /** The refresh-token family (session) concerned. */
  @Column({ name: 'session_id', type: 'varchar', length: 36, nullable: true })
  sessionId: string | null;

  /** A stable machine code (WX_CODE_INVALID, REFRESH_TOKEN_REUSED…), never free text. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  reason: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  /** Personal data (PIPL): erased by forgetUser. */
  @Column({ name: 'client_ip', type: 'varchar', length: 45, nullable: true })
  clientIp: string | null;

  /** JSON of allowlisted, non-personal key/values (see audit-details.ts), at most 1024 characters. */
  @Column({ type: 'varchar', length: 1024, nullable: true })
  details: string | null;
}
