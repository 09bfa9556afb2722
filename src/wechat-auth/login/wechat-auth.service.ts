import type { RequestContext } from '../../common/request-context';
import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { asAppException } from '../../common/errors/to-error-response';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { type ChannelIdentity, SignInService, type WechatLogin } from '../sign-in/sign-in.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import type { WechatEndpoint } from '../upstream/wechat-endpoint';
import { Code2SessionCall } from './code2session.endpoint';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';
import { LoginCodeLedger } from './login-code-ledger';

export type { WechatLogin };

/** A door's code-exchange adapter, one per login, that knows whether an attempt may have spent the code. */
export interface CodeExchange<R> extends WechatEndpoint<string, R> {
  readonly maybeSpent: boolean;
}

/**
 * Login: which app, one deadline for the whole request, the code exchanged once, then the user and
 * the session. Holds no I/O of its own beyond the store marker of a login that ended in doubt.
 */
@Injectable()
export class WechatAuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly ledger: LoginCodeLedger,
    private readonly signIn: SignInService,
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {}

  /** `context`: the request's id and client IP, for the audit trail (and its id for the WeChat call's log lines). */
  login(
    appid: string | undefined,
    code: string,
    context?: RequestContext,
    linkTicket?: string,
  ): Promise<WechatLogin> {
    // Only a mini program's appid: another door's (an app, a website) is unknown here.
    return this.codeLogin('miniprogram', appid, code, (spentBefore) => new Code2SessionCall(spentBefore), {
      context,
      linkTicket,
    });
  }

  /**
   * Every door whose client hands over a one-time WeChat code (the mini program's wx.login code, the mobile
   * app SDK's authorization code): the appid must be of that door's kind, one deadline for the whole request,
   * the code exchanged once through the ledger, the doubt marker, then the sign-in, the audit and the metrics.
   * `newCall(spentBefore)` builds the door's endpoint adapter for one login.
   */
  async codeLogin<R extends Omit<ChannelIdentity, 'kind' | 'appid'>>(
    kind: 'miniprogram' | 'app',
    appid: string | undefined,
    code: string,
    newCall: (spentBefore: boolean) => CodeExchange<R>,
    opts: { context?: RequestContext; linkTicket?: string } = {},
  ): Promise<WechatLogin> {
    const { context, linkTicket } = opts;
    let app: WechatAppCredentials;
    try {
      app = wechatApp(this.config, appid, kind);
    } catch (e) {
      this.metrics.login(undefined, kind, asAppException(e)?.code ?? 'error');
      throw e;
    }
    // Created once and carried down: waiting for another instance's claim, queueing, retries and each
    // HTTP attempt all spend the same WECHAT_LOGIN_DEADLINE_MS.
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);
    try {
      // Sign-in (identity graph, merged users' sessions, the new session, login.succeeded) runs as the
      // ledger's completion: a failure there keeps WeChat's answer for a retry with the same code.
      const login = await this.ledger.exchangeOnce<WechatLogin, R>(
        app.appid,
        code,
        deadline,
        () => this.exchange(app, code, deadline, newCall, context),
        (identity) =>
          this.signIn.signIn({ kind, appid: app.appid, ...identity }, { linkTicket, context, deadline }),
      );
      this.metrics.login(app.appid, kind, 'success');
      return login;
    } catch (e) {
      // The reason is the stable code only: never the login code or WeChat's errmsg.
      const known = asAppException(e);
      this.metrics.login(app.appid, kind, known?.code ?? 'error');
      if (known)
        await this.audit.record({ type: 'login.failed', appid: app.appid, reason: known.code, context });
      throw e;
    }
  }

  /** One exchange at WeChat. Remembers when it ended not knowing whether WeChat used the code. */
  private async exchange<R>(
    app: WechatAppCredentials,
    code: string,
    deadline: Deadline,
    newCall: (spentBefore: boolean) => CodeExchange<R>,
    context: RequestContext | undefined,
  ): Promise<R> {
    // Keyed by appid and code: two doors' codes never meet.
    const unsureKey = StoreKeys.loginCodeUnsure(loginCodeHash(app.appid, code));
    // The marker of an earlier login with this code is read only when WeChat calls the code used (40163):
    // nearly every login never needs it, and the answer is the same as reading it up front.
    const call = newCall(false);
    try {
      return await this.wechat.call(call, app, code, deadline, context);
    } catch (e) {
      // However this login ends without a session, if a call may have spent the code, remember it: a
      // retry with this code that then gets 40163 answers WX_RETRY_LOGIN, not 401.
      if (call.maybeSpent) await this.store.set(unsureKey, '1', CODE_LIFETIME_MS).catch(() => undefined);
      if (asAppException(e)?.code === 'WX_CODE_USED' && (await this.spentBefore(unsureKey)))
        throw new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: e });
      throw e;
    }
  }

  /**
   * Whether an earlier login with this code ended not knowing if WeChat used it. A store that cannot say
   * counts as "maybe": "get a new code" (WX_RETRY_LOGIN) is the answer that is right either way.
   */
  private spentBefore(unsureKey: string): Promise<boolean> {
    return this.store.get(unsureKey).then(
      (v) => v !== null,
      () => true,
    );
  }
}
