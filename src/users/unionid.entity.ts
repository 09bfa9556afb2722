import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CASE_SENSITIVE_COLLATION } from '../database/collation';
import { User } from './user.entity';

/**
 * One person, one user: the user that holds a WeChat unionid. The primary key decides — two first logins of
 * one person through two doors at once both try to insert the unionid, and the loser's insert fails, so it
 * joins the winner instead of creating a second user (not a read-then-write, which both would pass).
 * Rows go with their user (a deleted account frees its unionid; the next login starts a new user).
 */
@Entity('unionids')
@Index('ix_unionids_user_id', ['userId'])
export class UnionidOwner {
  @PrimaryColumn({ type: 'varchar', length: 128, collation: CASE_SENSITIVE_COLLATION })
  unionid: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_unionids_user' })
  user?: User;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt: Date;
}
