import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Parses the BIGINT columns: mysql2 hands them over as strings, better-sqlite3 as numbers. */
const epochMs = {
  to: (v: number) => v,
  from: (v: string | number | null) => (v === null ? null : Number(v)),
};

/**
 * The durable copy of a revocation (RevocationService): what an instance loads at start and after a
 * reconnection, so an acknowledged revocation survives a Redis that restarted empty and an instance that
 * stopped before it could publish. Times are epoch milliseconds, as in the replica.
 */
@Entity('revocations')
@Index('ix_revocations_expires_at', ['expiresAt'])
export class RevocationRow {
  /** 'u': a user's epoch; 's': a session (refresh family). */
  @PrimaryColumn({ type: 'varchar', length: 1 })
  kind: 'u' | 's';

  /** The user's or the session's id (lowercase UUID). */
  @PrimaryColumn({ name: 'subject_id', type: 'varchar', length: 36 })
  subjectId: string;

  /** A user's tokens must carry at least this epoch (claim `uv`); 0 for a session (all of its tokens). */
  @Column({ name: 'valid_after', type: 'bigint', transformer: epochMs })
  validAfter: number;

  /** After this, every token the entry could stop has expired: the row may go. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt: number;
}
