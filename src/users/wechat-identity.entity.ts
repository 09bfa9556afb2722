import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from './user.entity';

/** One WeChat account (openid) of one mini program (appid), linked to a user. */
@Entity('wechat_identities')
@Index('uq_wechat_identities_appid_openid', ['appid', 'openid'], { unique: true })
@Index('ix_wechat_identities_unionid', ['unionid'])
@Index('ix_wechat_identities_user_id', ['userId'])
export class WechatIdentity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  appid: string;

  @Column({ type: 'varchar', length: 128 })
  openid: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  unionid: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_wechat_identities_user' })
  user?: User;

  /** AES-256-GCM sealed, bound to (appid, openid). Never leaves the server. */
  @Column({ name: 'session_key_enc', type: 'varchar', length: 255, select: false })
  sessionKeyEnc: string;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime' })
  updatedAt: Date;
}
