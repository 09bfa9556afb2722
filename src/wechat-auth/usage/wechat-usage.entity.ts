import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CASE_SENSITIVE_COLLATION } from '../../database/collation';

/** The metered kinds of WeChat call (an endpoint adapter's `meter`). */
export const METER_KINDS = ['phone', 'risk', 'text', 'media'] as const;
export type MeterKind = (typeof METER_KINDS)[number];

/**
 * Requests to WeChat's metered APIs, per app, Beijing day and kind (UsageMeter writes, the admin usage
 * route reads). One row per (appid, day, api), incremented in place: a day of an app is at most four rows.
 */
@Entity('wechat_usage')
export class WechatUsageRow {
  /** Case-sensitive, like every WeChat id (see database/collation.ts). */
  @PrimaryColumn({ type: 'varchar', length: 64, collation: CASE_SENSITIVE_COLLATION })
  appid: string;

  /** `YYYY-MM-DD`, Beijing time (WeChat's quotas reset at its midnight); compares as text. */
  @PrimaryColumn({ type: 'varchar', length: 10 })
  day: string;

  @PrimaryColumn({ type: 'varchar', length: 8 })
  api: MeterKind;

  /** Requests that left for WeChat (each attempt, retries included). */
  @Column({ type: 'integer' })
  sent: number;

  /** Of those, answered with a result. */
  @Column({ type: 'integer' })
  answered: number;

  /** Of those, failed: an error code, a timeout, a network failure or an unreadable answer. */
  @Column({ type: 'integer' })
  failed: number;
}
