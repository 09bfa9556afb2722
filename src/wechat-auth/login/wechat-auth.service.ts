import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { KvStore } from '../../common/store/kv-store';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import type { TokenPair } from '../../token/token-pair';
import { TokenService } from '../../token/token.service';
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
    private readonly tokens: TokenService,
    private readonly store: KvStore,
    private readonly clock: Clock,
  ) {}

  async login(appid: string | undefined, code: string): Promise<WechatLogin> {
    const app = wechatApp(this.config, appid);
    // Created once and carried down: waiting for another instance's claim, queueing, retries and each
    // HTTP attempt all spend the same WECHAT_LOGIN_DEADLINE_MS.
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);
    return this.ledger.exchangeOnce(
      app.appid,
      code,
      deadline,
      () => this.exchange(app, code, deadline),
      async (session) => {
        const { user, isNew, mergedUserId } = await this.users.resolveIdentity({
          appid: app.appid,
          ...session,
        });
        // The merged-away user's row is gone, so its refresh tokens and /users/me stop working.
        if (mergedUserId)
          this.logger.log({ userId: user.id, mergedUserId, appid: app.appid }, 'users merged by unionid');
        const tokens = await this.tokens.issue(user, app.appid);
        return { user, appid: app.appid, isNew, tokens };
      },
    );
  }

  /** One exchange at WeChat. Remembers when it ended not knowing whether WeChat used the code. */
  private async exchange(
    app: WechatAppCredentials,
    code: string,
    deadline: Deadline,
  ): Promise<Code2SessionResult> {
    const unsureKey = `wx:unsure:${loginCodeHash(app.appid, code)}`;
    const call = new Code2SessionCall((await this.store.get(unsureKey)) !== null);
    try {
      return await this.wechat.call(call, app, code, deadline);
    } catch (e) {
      // However this login ends without a session, if a call may have spent the code, remember it: a
      // retry with this code that then gets 40163 answers WX_RETRY_LOGIN, not 401.
      if (call.maybeSpent) await this.store.set(unsureKey, '1', CODE_LIFETIME_MS).catch(() => undefined);
      throw e;
    }
  }
}
