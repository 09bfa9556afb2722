import type { RequestContext } from '../../common/request-context';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { asAppException } from '../../common/errors/to-error-response';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import type { TokenPair } from '../../token/token-pair';
import { SessionService } from '../../token/sessions/session.service';
import type { User } from '../../users/user.entity';
import { UsersService } from '../../users/users.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import { Code2SessionCall, type Code2SessionResult } from './code2session.endpoint';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';
import { LoginCodeLedger } from './login-code-ledger';

export interface WechatLogin {
  user: User;
  appid: string;
  isNew: boolean;
  tokens: TokenPair;
}

/**
 * Login: which app, one deadline for the whole request, the code exchanged once, then the user and
 * the session. Holds no I/O of its own beyond the store marker of a login that ended in doubt.
 */
@Injectable()
export class WechatAuthService {
  private readonly logger = new Logger(WechatAuthService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly ledger: LoginCodeLedger,
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** `context`: the request's id and client IP, for the audit trail (and its id for the WeChat call's log lines). */
  async login(appid: string | undefined, code: string, context?: RequestContext): Promise<WechatLogin> {
    const app = wechatApp(this.config, appid);
    // Created once and carried down: waiting for another instance's claim, queueing, retries and each
    // HTTP attempt all spend the same WECHAT_LOGIN_DEADLINE_MS.
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);
    try {
      const login = await this.ledger.exchangeOnce(
        app.appid,
        code,
        deadline,
        () => this.exchange(app, code, deadline, context),
        (session) => this.complete(app.appid, session, context),
      );
      await this.audit.record({
        type: 'login.succeeded',
        userId: login.user.id,
        appid: app.appid,
        details: { isNewUser: login.isNew },
        context,
      });
      return login;
    } catch (e) {
      // The reason is the stable code only: never the login code or WeChat's errmsg.
      const known = asAppException(e);
      if (known)
        await this.audit.record({ type: 'login.failed', appid: app.appid, reason: known.code, context });
      throw e;
    }
  }

  private async complete(
    appid: string,
    session: Code2SessionResult,
    context: RequestContext | undefined,
  ): Promise<WechatLogin> {
    const { user, isNew, mergedUserIds = [] } = await this.users.resolveIdentity({ appid, ...session });
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
    const tokens = await this.sessions.start(user, appid, context);
    return { user, appid, isNew, tokens };
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
