import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { AppConfig } from '../../config/app-config';
import { beijingDay, secondsToBeijingMidnight } from '../wechat-apps';

/** A day's counter outlives its day a little, whatever the clock skew between instances. */
const COUNTER_TTL_MS = 26 * 3600_000;

/**
 * WeChat bills every phone-number authorization to the mini program, so a client tapping the button in
 * a loop costs money. Lookups are counted per user and per app and day (Beijing time, like WeChat's own
 * quotas) in the shared store, and refused with 429 PHONE_RATE_LIMITED before WeChat is called. A lookup
 * counts once it is sent to WeChat, whatever WeChat answers (failures cannot be used to probe around the
 * cap); one refused before it left (the app's minute quota stop, an open breaker, a shed call, no
 * interface token) is given back.
 */
@Injectable()
export class PhoneLookupBudget {
  private readonly logger = new Logger(PhoneLookupBudget.name);

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Takes one lookup from the user's and the app's budgets; returns how to give it back. */
  async spend(appid: string, userId: string): Promise<() => Promise<void>> {
    const now = this.clock.now();
    const day = beijingDay(now);
    const { lookupsPerUserPerDay, lookupsPerAppPerDay } = this.config.phone;
    const retryAfter = secondsToBeijingMidnight(now);
    // Increment-then-compare is atomic on both stores: of N parallel taps exactly the allowed number pass.
    const userKey = `phone:user:${appid}:${userId}:${day}`;
    const appKey = `phone:app:${appid}:${day}`;
    const byUser = await this.store.increment(userKey, COUNTER_TTL_MS);
    if (byUser > lookupsPerUserPerDay) throw new AppException('PHONE_RATE_LIMITED', { retryAfter });
    const byApp = await this.store.increment(appKey, COUNTER_TTL_MS);
    if (byApp > lookupsPerAppPerDay) {
      if (byApp === lookupsPerAppPerDay + 1)
        this.logger.error(
          { alert: 'PHONE_APP_BUDGET', appid, budget: lookupsPerAppPerDay },
          "today's phone-number lookups of this app are spent (PHONE_LOOKUPS_PER_APP_PER_DAY)",
        );
      throw new AppException('PHONE_RATE_LIMITED', { retryAfter });
    }
    return async () => {
      // Best effort: a refund that fails leaves the user one lookup short, never over the cap.
      await this.store.increment(userKey, COUNTER_TTL_MS, -1).catch(() => undefined);
      await this.store.increment(appKey, COUNTER_TTL_MS, -1).catch(() => undefined);
    };
  }
}
