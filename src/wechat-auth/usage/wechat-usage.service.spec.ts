import { AppException } from '../../common/errors/app.exception';
import { beijingDay } from './usage-meter';
import { dayRange, MAX_USAGE_DAYS } from './wechat-usage.service';

function refusal(from: string, to: string): string | undefined {
  try {
    dayRange(from, to);
  } catch (e) {
    if (e instanceof AppException) return `${e.getStatus()} ${e.code}`;
    throw e;
  }
  return undefined;
}

describe('usage days', () => {
  it('Beijing days start at 16:00 UTC the day before', () => {
    expect(beijingDay(Date.UTC(2026, 11, 5, 15, 59, 59))).toBe('2026-12-05');
    expect(beijingDay(Date.UTC(2026, 11, 5, 16, 0, 0))).toBe('2026-12-06');
  });

  it('lists every day of an inclusive range, across month and leap-year ends', () => {
    expect(dayRange('2028-02-28', '2028-03-01')).toEqual(['2028-02-28', '2028-02-29', '2028-03-01']);
    expect(dayRange('2026-12-06', '2026-12-06')).toEqual(['2026-12-06']);
  });

  it(`refuses impossible dates, from after to, and more than ${MAX_USAGE_DAYS} days with 400`, () => {
    expect(refusal('2026-02-30', '2026-03-01')).toBe('400 VALIDATION_FAILED');
    expect(refusal('2026-13-01', '2026-13-02')).toBe('400 VALIDATION_FAILED');
    expect(refusal('2026-12-06', '2026-12-05')).toBe('400 VALIDATION_FAILED');
    expect(dayRange('2026-01-01', '2026-04-02')).toHaveLength(92);
    expect(refusal('2026-01-01', '2026-04-03')).toBe('400 VALIDATION_FAILED');
  });
});
