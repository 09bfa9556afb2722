import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Between, type DataSource } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app-config';
import type { UsageCounts, UsageDay, UsageReport } from './dto/usage.dto';
import { METER_KINDS, type MeterKind, WechatUsageRow } from './wechat-usage.entity';

/** The longest range one report covers (a quarter): bounded rows and work per request. */
export const MAX_USAGE_DAYS = 92;
const DAY_MS = 86_400_000;

/** Reads `wechat_usage` for the admin route, with this service's own daily caps beside the counts. */
@Injectable()
export class WechatUsageService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async report(from: string, to: string): Promise<UsageReport> {
    const days = dayRange(from, to);
    const rows = await this.dataSource
      .getRepository(WechatUsageRow)
      .find({ where: { day: Between(from, to) } });
    const appids = [...new Set([...this.config.wechat.apps.keys(), ...rows.map((r) => r.appid)])].sort();
    const byKey = new Map(rows.map((r) => [`${r.appid}|${r.day}|${r.api}`, r]));
    const items: UsageDay[] = [];
    for (const day of days)
      for (const appid of appids) {
        const counts = (api: MeterKind): UsageCounts => {
          const row = byKey.get(`${appid}|${day}|${api}`);
          return {
            sent: row?.sent ?? 0,
            answered: row?.answered ?? 0,
            failed: row?.failed ?? 0,
            cap: this.capOf(api),
          };
        };
        const entry = { appid, day } as UsageDay;
        for (const api of METER_KINDS) entry[api] = counts(api);
        items.push(entry);
      }
    return { from, to, items };
  }

  /** The per-app daily caps configured here; only the phone lookup has one so far. */
  private capOf(api: MeterKind): number | null {
    return api === 'phone' ? this.config.phone.lookupsPerAppPerDay : null;
  }
}

/** Every day from `from` to `to`, inclusive; 400 VALIDATION_FAILED for an impossible date or range. */
export function dayRange(from: string, to: string): string[] {
  const start = parseDay(from, 'from');
  const end = parseDay(to, 'to');
  if (start > end) throw invalid('from must not be after to');
  const count = (end - start) / DAY_MS + 1;
  if (count > MAX_USAGE_DAYS) throw invalid(`the range must not span more than ${MAX_USAGE_DAYS} days`);
  return Array.from({ length: count }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10));
}

function parseDay(value: string, name: string): number {
  const [y, m, d] = value.split('-').map(Number);
  // Date.UTC rolls impossible days over (02-30 → 03-02): refuse them instead.
  const ms = Date.UTC(y, m - 1, d);
  if (!(y >= 2000 && y <= 9999) || new Date(ms).toISOString().slice(0, 10) !== value)
    throw invalid(`${name} must be a calendar date as YYYY-MM-DD`);
  return ms;
}

function invalid(detail: string): AppException {
  return new AppException('VALIDATION_FAILED', { details: [detail] });
}
