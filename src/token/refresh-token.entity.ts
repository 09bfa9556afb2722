import { CASE_SENSITIVE_COLLATION } from '../database/collation';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One refresh token. Only its SHA-256 is stored. Tokens of one login share a
 * `familyId`; rotation links each to its successor through `replacedBy`.
 */
@Entity('refresh_tokens')
@Index('ix_refresh_tokens_family_id', ['familyId'])
@Index('ix_refresh_tokens_user_id', ['userId'])
@Index('ix_refresh_tokens_expires_at', ['expiresAt'])
export class RefreshToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'family_id', type: 'varchar', length: 36 })
  familyId: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  /** Case-sensitive, like every WeChat id (see database/collation.ts). */
  @Column({ type: 'varchar', length: 64, collation: CASE_SENSITIVE_COLLATION })
  appid: string;

  @Index('uq_refresh_tokens_token_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'datetime' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'datetime', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'replaced_by', type: 'varchar', length: 36, nullable: true })
  replacedBy: string | null;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt: Date;
}
