import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import type { TokenPair } from '../../token/token-pair';
import { SessionService } from '../../token/sessions/session.service';
import type { ChannelIdentity, IdentityKind } from '../../users/identity-kind';
import { LinkTickets } from '../../users/link-tickets';
import type { User } from '../../users/user.entity';
import { UsersService } from '../../users/users.service';
import type { RiskRank } from '../risk/get-user-risk-rank.endpoint';
import { RiskGate } from '../risk/risk-gate';
import type { Deadline } from '../upstream/deadline';

export type { ChannelIdentity, IdentityKind };

/** The answer of every login door: the signed-in user (after a merge, the survivor) and its new session. */
export interface WechatLogin {
  user: User;
  appid: string;
  isNew: boolean;
  tokens: TokenPair;
}

export interface SignInOptions {
  /** From `POST /users/me/identities/link-ticket`: attach the identity to that user instead of a new one. */
  linkTicket?: string;
  /** The request's id and client IP, for the audit trail (and the IP for the risk check). */
  context?: RequestContext;
  /** The door's deadline for the request: the risk check of a new identity spends at most one WeChat timeout of it. */
  deadline?: Deadline;
}

/**
 * The one way from "WeChat vouched for this identity" to a session, shared by every door (mini program,
 * mobile app, Official Account H5, website QR): the identity graph decides the user, users merged away by
 * that decision lose their sessions, the survivor gets a new one, and the login is audited.
 *
 * Doors call it only after WeChat answered; failures before that (and their `login.failed` audit) stay with
 * the door, which knows its own reasons.
 */
@Injectable()
export class SignInService {
  private readonly logger = new Logger(SignInService.name);

  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly linkTickets: LinkTickets,
    private readonly risk: RiskGate,
    private readonly config: AppConfig,
  ) {}

  async signIn(door: ChannelIdentity, opts: SignInOptions = {}): Promise<WechatLogin> {
    const { context } = opts;
    const identity = this.withoutUncheckedProfile(door);
    const { appid } = identity;
    // Before anything is written or spent (the link ticket included): a refused sign-up leaves no row.
    const riskRank = await this.screenSignUp(identity, opts);
    // Spent here, after WeChat vouched for the identity: a ticket is worth one login attempt. (A failure
    // after this leaves the door's code usable again through the login-code ledger, not the ticket.)
    const linkToUserId =
      opts.linkTicket !== undefined ? await this.linkTickets.redeem(opts.linkTicket) : undefined;
    const {
      user,
      isNew,
      mergedUserIds = [],
    } = await (linkToUserId
      ? this.users.resolveIdentity(identity, { linkToUserId })
      : this.users.resolveIdentity(identity));
    if (riskRank !== undefined) await this.users.recordRiskRank(appid, identity.openid, riskRank);
    for (const mergedUserId of mergedUserIds) {
      // Every merged-away user's row is gone (its refresh tokens and /users/me stop working): its session
      // rows go and its access tokens stop now too, on every instance; audited on the survivor.
      this.logger.log({ userId: user.id, mergedUserId, appid }, 'users merged by unionid');
      await this.sessions.end({ userId: mergedUserId, all: 'delete' }, 'users_merged', {
        auditUserId: user.id,
        appid,
        details: { mergedUserId },
        context,
      });
    }
    const tokens = await this.sessions.start(user, appid, context, { isNewUser: isNew });
    await this.audit.record({
      type: 'login.succeeded',
      userId: user.id,
      appid,
      details: { isNewUser: isNew },
      context,
    });
    return { user, appid, isNew, tokens };
  }

  /**
   * With content checks on (docs/content-checks.md), a door's profile (snsapi_userinfo, snsapi_login: WeChat's
   * nickname and avatar) never reaches the identity graph, which would copy it unchecked into a new user: the
   * user sets a profile through `PATCH /users/me`, which is checked. Off: it fills a new user's empty fields.
   */
  private withoutUncheckedProfile(identity: ChannelIdentity): ChannelIdentity {
    if (!this.config.content.enabled || identity.profile === undefined) return identity;
    const { profile: _dropped, ...rest } = identity;
    return rest;
  }

  /**
   * WeChat's risk rank for a mini-program identity seen for the first time (RiskGate: off, observe, block).
   * "First time" is a read before the identity graph writes: two concurrent first logins may both ask WeChat
   * (harmless), and a refused one throws before either writes. Other doors' openids are not WeChat
   * mini-program users, which is all getuserriskrank rates. Off: not even the read.
   */
  private async screenSignUp(identity: ChannelIdentity, opts: SignInOptions): Promise<RiskRank | undefined> {
    if (!this.risk.enabled || identity.kind !== 'miniprogram') return undefined;
    if (await this.users.identityExists(identity.appid, identity.openid)) return undefined;
    return this.risk.check({
      appid: identity.appid,
      openid: identity.openid,
      scene: 'signup',
      deadline: opts.deadline,
      context: opts.context,
    });
  }
}
