import { createHmac } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { Quota, type QuotaTake } from '../../common/store/quota';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { BEIJING_DAY } from '../wechat-apps';

/** Who taps the button, as WeChat knows them: not our user row, which a deletion removes. */
export interface PhoneLookupPerson {
  appid: string;
  openid: string;
  /** Set when the mini program is bound to an Open Platform account: the same person in every app. */
  unionid?: string | null;
}

/**
 * What one person may take of an app's day: the configured per-person cap, and never more than half of
 * the app's budget (rounded up), so that one person cannot spend the lookups every other user's first bind
 * needs. A budget of 1 is necessarily one person's; a budget of 0 (lookups off) still reaches the app
 * check, which refuses and raises the alert.
 */
export function personCap(perPerson: number, perApp: number): number {
  return Math.min(perPerson, Math.max(1, Math.ceil(perApp / 2)));
}

/**
 * WeChat bills every phone-number authorization to the mini program, so a client tapping the button in
 * a loop costs money. Lookups are counted per person and per app and day (Beijing time, like WeChat's own
 * quotas) in the shared store, and refused with 429 PHONE_RATE_LIMITED before WeChat is called.
 *
 * The person is the WeChat account — the app's openid, and the unionid when WeChat gives one (the same
 * person across the mini programs of one Open Platform account) — not our user id: deleting the account
 * and logging in again makes a new user, never a new allowance. Both are counted when there is a unionid
 * (a unionid that appears mid-day does not open a second allowance for the same openid). Store keys carry
 * an HMAC of the ids under a key derived from SESSION_KEY_ENCRYPTION_KEY, never the ids themselves.
 *
 * The per-person cap is checked first, and a lookup the person is not allowed never counts against the
 * app's budget; one the app's budget refuses is given back to the person. A lookup counts once it is sent
 * to WeChat, whatever WeChat answers (failures cannot be used to probe around the cap); one refused before
 * it left (the app's minute quota stop, an open breaker, a shed call, no interface token) is given back.
 */
@Injectable()
export class PhoneLookupBudget {
  private readonly logger = new Logger(PhoneLookupBudget.name);
  private readonly quota: Quota;
  /** Keys the person tags; a subkey, so the tags say nothing about the encryption key itself. */
  private readonly tagKey: Buffer;

  constructor(
    store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {
    this.quota = new Quota(store, clock, BEIJING_DAY);
    this.tagKey = createHmac('sha256', config.sessionKeyEncryptionKey)
      .update('wechat-auth/phone-lookup-person/v1')
      .digest();
  }

  /** Takes one lookup from the person's and the app's budgets; returns how to give it back. */
  async spend(person: PhoneLookupPerson): Promise<() => Promise<void>> {
    const { lookupsPerUserPerDay, lookupsPerAppPerDay } = this.config.phone;
    const cap = personCap(lookupsPerUserPerDay, lookupsPerAppPerDay);
    const keys = [StoreKeys.phonePerson('o', this.tag(`${person.appid}\n${person.openid}`))];
    if (person.unionid) keys.push(StoreKeys.phonePerson('u', this.tag(person.unionid)));
    // Increment-then-compare is atomic on both stores: of N parallel taps exactly the allowed number pass.
    const taken: QuotaTake[] = [];
    const giveBack = () => Promise.all(taken.map((t) => t.giveBack())).then(() => undefined);
    try {
      for (const key of keys) {
        const take = await this.quota.take(key, cap);
        // A refused take stays counted (the person is over the cap for the day anyway).
        if (!take.allowed)
          throw new AppException('PHONE_RATE_LIMITED', { retryAfter: take.retryAfterSeconds });
        taken.push(take);
      }
      const byApp = await this.quota.take(StoreKeys.phoneApp(person.appid), lookupsPerAppPerDay);
      // The app's shared count as of this take (give-backs are not seen: it may read a little high).
      const resetsAt = this.clock.now() + byApp.retryAfterSeconds * 1000;
      this.metrics.quotaUsed(person.appid, 'phone_lookup', byApp.used, resetsAt);
      if (!byApp.allowed) {
        if (byApp.used === lookupsPerAppPerDay + 1)
          this.logger.error(
            { alert: 'PHONE_APP_BUDGET', appid: person.appid, budget: lookupsPerAppPerDay },
            "today's phone-number lookups of this app are spent (PHONE_LOOKUPS_PER_APP_PER_DAY)",
          );
        throw new AppException('PHONE_RATE_LIMITED', { retryAfter: byApp.retryAfterSeconds });
      }
      taken.push(byApp);
    } catch (e) {
      // Refused (or the store failed half-way): what this lookup took so far was not used.
      await giveBack();
      throw e;
    }
    // Best effort: a give-back that fails leaves the person one lookup short, never over the cap.
    return giveBack;
  }

  private tag(id: string): string {
    return createHmac('sha256', this.tagKey).update(id).digest('base64url').slice(0, 32);
  }
}
