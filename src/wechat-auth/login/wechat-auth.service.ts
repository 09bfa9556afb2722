import type { RequestContext } from '../../common/request-context';
import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { asAppException } from '../../common/errors/to-error-response';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { SignInService, type WechatLogin } from '../sign-in/sign-in.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import { Code2SessionCall, type Code2SessionResult } from './code2session.endpoint';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';
import { LoginCodeLedger } from './login-code-ledger';

export type { WechatLogin };

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
  async login(
    appid: string | undefined,
    code: string,
    context?: RequestContext,
    linkTicket?: string,
  ): Promise<WechatLogin> {
    let app: WechatAppCredentials;
    try {
      // Only a mini program's appid: another door's (an app, a website) is unknown here.
      app = wechatApp(this.config, appid, 'miniprogram');
    } catch (e) {
      this.metrics.login(undefined, 'miniprogram', asAppException(e)?.code ?? 'error');
      throw e;
    }
    // Created once and carried down: waiting for another instance's claim, queueing, retries and each
    // HTTP attempt all spend the same WECHAT_LOGIN_DEADLINE_MS.
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);
    try {
      // Sign-in (identity graph, merged users' sessions, the new session, login.succeeded) runs as the
      // ledger's completion: a failure there keeps WeChat's answer for a retry with the same code.
      const login = await this.ledger.exchangeOnce(
        app.appid,
        code,
        deadline,
        () => this.exchange(app, code, deadline, context),
        (session) =>
          this.signIn.signIn({ kind: 'miniprogram', appid: app.appid, ...session }, { linkTicket, context }),
      );
      this.metrics.login(app.appid, 'miniprogram', 'success');
      return login;
    } catch (e) {
      // The reason is the stable code only: never the login code or WeChat's errmsg.
      const known = asAppException(e);
      this.metrics.login(app.appid, 'miniprogram', known?.code ?? 'error');
      if (known)
        await this.audit.record({ type: 'login.failed', appid: app.appid, reason: known.code, context });
      throw e;
    }
  }

  /** One exchange at WeChat. Remembers when it ended not knowing whether WeChat used the code. */
  private async exchange(
    app: WechatAppCredentials,
    code: string,
    deadline: Deadline,
    context: RequestContext | undefined,
  ): Promise<Code2SessionResult> {
    const unsureKey = StoreKeys.loginCodeUnsure(loginCodeHash(app.appid, code));
    const call = new Code2SessionCall((await this.store.get(unsureKey)) !== null);
    try {
      return await this.wechat.call(call, app, code, deadline, context);
    } catch (e) {
      // However this login ends without a session, if a call may have spent the code, remember it: a
      // retry with this code that then gets 40163 answers WX_RETRY_LOGIN, not 401.
      if (call.maybeSpent) await this.store.set(unsureKey, '1', CODE_LIFETIME_MS).catch(() => undefined);
      throw e;
    }
  }
}
