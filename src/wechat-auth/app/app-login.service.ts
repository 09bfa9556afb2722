import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { asAppException } from '../../common/errors/to-error-response';
import type { RequestContext } from '../../common/request-context';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { CODE_LIFETIME_MS, loginCodeHash } from '../login/login-code';
import { LoginCodeLedger } from '../login/login-code-ledger';
import { SignInService, type WechatLogin } from '../sign-in/sign-in.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import { AppAccessTokenCall, type AppLoginIdentity } from './app-access-token.endpoint';

/**
 * The mobile app's "Log in with WeChat": the SDK's code exchanged at `/sns/oauth2/access_token` for an
 * `app` appid, then the same sign-in as every door. Everything around the exchange is the mini-program
 * login's: one deadline (WECHAT_LOGIN_DEADLINE_MS) for the whole request, the login-code ledger (a code
 * reaches WeChat once, replays answer WX_CODE_USED, WeChat's answer is kept when sign-in fails), the
 * doubt marker (40163 after a call that may have spent the code → WX_RETRY_LOGIN), the audit and metrics.
 */
@Injectable()
export class AppLoginService {
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

  async login(
    appid: string,
    code: string,
    linkTicket: string | undefined,
    context?: RequestContext,
  ): Promise<WechatLogin> {
    let app: WechatAppCredentials;
    try {
      // A mini program's (or a website's) appid here is unknown, as an app's is at the mini-program login.
      app = wechatApp(this.config, appid, 'app');
    } catch (e) {
      this.metrics.login(undefined, 'app', asAppException(e)?.code ?? 'error');
      throw e;
    }
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);
    try {
      const login = await this.ledger.exchangeOnce<WechatLogin, AppLoginIdentity>(
        app.appid,
        code,
        deadline,
        () => this.exchange(app, code, deadline, context),
        (identity) =>
          this.signIn.signIn({ kind: 'app', appid: app.appid, ...identity }, { linkTicket, context }),
      );
      this.metrics.login(app.appid, 'app', 'success');
      return login;
    } catch (e) {
      // The reason is the stable code only: never the code or WeChat's errmsg.
      const known = asAppException(e);
      this.metrics.login(app.appid, 'app', known?.code ?? 'error');
      if (known)
        await this.audit.record({ type: 'login.failed', appid: app.appid, reason: known.code, context });
      throw e;
    }
  }

  private async exchange(
    app: WechatAppCredentials,
    code: string,
    deadline: Deadline,
    context: RequestContext | undefined,
  ): Promise<AppLoginIdentity> {
    // The same doubt marker as the mini-program login (keyed by appid and code, so the two never meet).
    const unsureKey = StoreKeys.loginCodeUnsure(loginCodeHash(app.appid, code));
    const call = new AppAccessTokenCall((await this.store.get(unsureKey)) !== null);
    try {
      return await this.wechat.call(call, app, code, deadline, context);
    } catch (e) {
      if (call.maybeSpent) await this.store.set(unsureKey, '1', CODE_LIFETIME_MS).catch(() => undefined);
      throw e;
    }
  }
}
