import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock/clock';
import { BackgroundWork } from '../../common/concurrency/background-work';
import type { MeterKind } from './wechat-usage.entity';

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/** The Beijing calendar day of an instant, as `YYYY-MM-DD`. */
export function beijingDay(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * Counts requests to WeChat's metered APIs durably (`wechat_usage`): one upsert per request that left, after
 * its outcome is known. Written off the request's path: the count is bookkeeping, so a slow or unavailable
 * database delays or loses a count (logged), never the call it counts. `flush()` waits for the writes in
 * flight (tests, shutdown).
 */
@Injectable()
export class UsageMeter implements BeforeApplicationShutdown {
  private readonly logger = new Logger('WechatUsage');
  private readonly mysql: boolean;
  private readonly writing = new BackgroundWork();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    const type = dataSource.options.type;
    this.mysql = type === 'mysql' || type === 'mariadb';
  }

  /** One request to a metered API left for WeChat and ended `answered` (with a result) or not. */
  record(appid: string, api: MeterKind, answered: boolean): void {
    const params = [appid, beijingDay(this.clock.now()), api, answered ? 1 : 0, answered ? 0 : 1];
    const sql = this.mysql
      ? 'INSERT INTO `wechat_usage` (`appid`, `day`, `api`, `sent`, `answered`, `failed`) VALUES (?, ?, ?, 1, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE `sent` = `sent` + 1, `answered` = `answered` + VALUES(`answered`), ' +
        '`failed` = `failed` + VALUES(`failed`)'
      : 'INSERT INTO "wechat_usage" ("appid", "day", "api", "sent", "answered", "failed") VALUES (?, ?, ?, 1, ?, ?) ' +
        'ON CONFLICT ("appid", "day", "api") DO UPDATE SET "sent" = "sent" + 1, ' +
        '"answered" = "answered" + excluded."answered", "failed" = "failed" + excluded."failed"';
    this.writing.add(
      this.dataSource
        .query(sql, params)
        .then(() => undefined)
        .catch((err: unknown) => {
          this.logger.warn(
            { appid, api, error: err instanceof Error ? err.name : typeof err },
            'wechat usage not counted',
          );
        }),
    );
  }

  async flush(): Promise<void> {
    await this.writing.drain();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }
}
