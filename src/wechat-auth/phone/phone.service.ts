import type { RequestContext } from '../../common/request-context';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import type { AuthPrincipal } from '../../common/auth/auth-principal';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app-config';
import { maskPhone } from '../../users/mask-phone';
import { userGone, UsersService } from '../../users/users.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import { RiskGate } from '../risk/risk-gate';
import { GetPhoneNumberCall, type PhoneInfo } from './get-phone-number.endpoint';
import { PhoneLookupBudget } from './phone-lookup-budget';

export interface BoundPhone {
  /** Masked for display; the full number stays on the server. */
  phone: string;
  countryCode: string;
}

/** Binds the number a user authorized with the getPhoneNumber button to their account. */
@Injectable()
export class PhoneService {
  private readonly logger = new Logger(PhoneService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly budget: PhoneLookupBudget,
    private readonly users: UsersService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly risk: RiskGate,
  ) {}

  /** `context`: the request's id and client IP, for the audit trail. */
  async bindWithCode(principal: AuthPrincipal, code: string, context?: RequestContext): Promise<BoundPhone> {
    const app = wechatApp(this.config, principal.appid);
    const identity = await this.users.identityOf(principal.userId, app.appid);
    if (!identity) {
      // A user merged away (or deleted) since the token was issued is no longer a valid caller.
      if (!(await this.users.findById(principal.userId))) throw userGone();
      throw new AppException('NO_WECHAT_SESSION');
    }
    const deadline = Deadline.after(this.clock, this.config.wechat.apiDeadlineMs);
    // WECHAT_RISK_CHECK: a refusal (403 RISK_BLOCKED) comes before the budget is spent and before the paid
    // lookup; the rank is stored on the identity either way (its latest, for admins).
    await this.risk.check({
      appid: app.appid,
      openid: identity.openid,
      scene: 'phone',
      userId: principal.userId,
      deadline,
      context,
      store: (rank) => this.users.recordRiskRank(app.appid, identity.openid, rank),
    });
    // Before WeChat is called: each successful lookup is billed. Counted on the WeChat account, which
    // survives the deletion of our user (a new login is a new user, not a new allowance).
    const refund = await this.budget.spend({
      appid: app.appid,
      openid: identity.openid,
      unionid: identity.unionid,
    });
    const call = new GetPhoneNumberCall();
    let info: PhoneInfo;
    try {
      info = await this.wechat.call(call, app, { code, openid: identity.openid }, deadline, context);
    } catch (e) {
      // Refused before it left (quota stop, breaker, shed, no interface token): not a lookup.
      if (!call.sent) await refund();
      throw e;
    }
    if (info.watermarkAppid !== app.appid) {
      // WeChat answered for another mini program: never bind a number that was not authorized here.
      this.logger.error(
        { appid: app.appid, api: call.name, requestId: context?.requestId },
        'phone number watermark names another app',
      );
      throw new AppException('WX_UNAVAILABLE', { retryAfter: 5 });
    }
    return this.bind(principal.userId, info.purePhoneNumber, info.countryCode, app.appid, context);
  }

  /** Shared with the open-data route: a phone number decrypted there binds the same way. */
  async bind(
    userId: string,
    purePhoneNumber: string,
    countryCode: string,
    appid: string,
    context?: RequestContext,
  ): Promise<BoundPhone> {
    await this.users.bindPhone(userId, { purePhoneNumber, countryCode });
    // The event, never the number.
    await this.audit.record({ type: 'phone.bound', userId, appid, context });
    return { phone: maskPhone(purePhoneNumber) ?? '', countryCode };
  }
}
