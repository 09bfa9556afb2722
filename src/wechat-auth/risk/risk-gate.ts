import { isIP } from 'node:net';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { asAppException } from '../../common/errors/to-error-response';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { Deadline } from '../upstream/deadline';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { WechatApi } from '../wechat-api';
import { GetUserRiskRankCall, type RiskRank } from './get-user-risk-rank.endpoint';

/** Why the rank is asked: a new identity's first login, or a phone lookup. Recorded as `riskScene`. */
export type RiskScene = 'signup' | 'phone';

export interface RiskCheck {
  /** A configured mini program's appid (getuserriskrank rates mini-program users only). */
  appid: string;
  openid: string;
  scene: RiskScene;
  /** The user concerned, when there is one already (phone lookups); a sign-up has none yet. */
  userId?: string;
  /** The request's deadline (default: WECHAT_API_DEADLINE_MS from now): the check spends at most one WeChat timeout of it. */
  deadline?: Deadline;
  /** Its `clientIp` is the address WeChat rates (`request.ip`: the hop `TRUST_PROXY` believes). */
  context?: RequestContext;
  /** Stores the rank on an identity that exists already (phone lookups), before a refusal too. */
  store?: (rank: RiskRank) => Promise<void>;
}

/**
 * WeChat's user risk rank (getuserriskrank) in front of a sign-up or a phone lookup, per WECHAT_RISK_CHECK:
 * - `off`: returns undefined and calls nothing;
 * - `observe`: returns the rank (the caller stores it on the identity), audited `risk.ranked`;
 * - `block`: the same, but a rank at or above WECHAT_RISK_BLOCK_RANK throws 403 RISK_BLOCKED (audited
 *   `risk.blocked`) — before the caller writes anything or spends anything.
 * Any failure (timeout, errcode, quota stop, open breaker, no interface token, no client address) fails OPEN:
 * undefined, audited `risk.check_failed` with the error's code. A risk check that is down must not become a
 * login outage; within one WeChat timeout (WECHAT_TIMEOUT_MS) of the request's own deadline, so the call the
 * request is about (the phone lookup) keeps the rest.
 */
@Injectable()
export class RiskGate {
  private readonly logger = new Logger(RiskGate.name);

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /** Whether `check` would call WeChat at all. */
  get enabled(): boolean {
    return this.config.risk.mode !== 'off';
  }

  async check(c: RiskCheck): Promise<RiskRank | undefined> {
    const { mode, blockRank } = this.config.risk;
    if (mode === 'off') return undefined;
    const base = { userId: c.userId ?? null, appid: c.appid, context: c.context };
    const app = this.config.wechat.apps.get(c.appid);
    const clientIp = c.context?.clientIp ?? '';
    if (!app || isIP(clientIp) === 0) {
      // WeChat requires client_ip (every door has a request context); the appid is one the caller already
      // checked. Neither is a reason to refuse the person.
      await this.audit.record({
        ...base,
        type: 'risk.check_failed',
        reason: 'VALIDATION_FAILED',
        details: { riskScene: c.scene },
      });
      return undefined;
    }
    let rank: RiskRank;
    try {
      const { apiDeadlineMs, timeoutMs } = this.config.wechat;
      const remainingMs = c.deadline?.remainingMs() ?? apiDeadlineMs;
      const deadline = Deadline.after(this.clock, Math.min(remainingMs, timeoutMs));
      rank = await this.wechat.call(
        new GetUserRiskRankCall(),
        app,
        { openid: c.openid, clientIp },
        deadline,
        c.context,
      );
    } catch (e) {
      const known = asAppException(e);
      const cause = known?.extras.cause ?? e;
      const errcode = cause instanceof WechatUpstreamError ? cause.details.errcode : undefined;
      if (!known) this.logger.error({ err: e, appid: c.appid }, 'risk check failed unexpectedly');
      else this.logger.warn({ appid: c.appid, code: known.code, errcode }, 'risk check failed: let through');
      await this.audit.record({
        ...base,
        type: 'risk.check_failed',
        reason: known?.code ?? 'INTERNAL_ERROR',
        details: { riskScene: c.scene, ...(errcode !== undefined ? { wxErrcode: errcode } : {}) },
      });
      return undefined;
    }
    await c.store?.(rank);
    const details = { riskScene: c.scene, riskRank: rank };
    if (mode === 'block' && rank >= blockRank) {
      await this.audit.record({ ...base, type: 'risk.blocked', reason: 'RISK_BLOCKED', details });
      throw new AppException('RISK_BLOCKED');
    }
    await this.audit.record({ ...base, type: 'risk.ranked', details });
    return rank;
  }
}
