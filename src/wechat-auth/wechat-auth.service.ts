import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import { AppConfig, type WechatAppCredentials } from '../config/app-config';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { LoginCodeReplayGuard } from './login-code-replay.guard';
import { ResilientWechatClient } from './resilient-wechat.client';

export interface WechatLogin {
  user: User;
  appid: string;
  isNew: boolean;
}

/** Login logic: which app, the code exchanged once, then the user. Holds no I/O of its own. */
@Injectable()
export class WechatAuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly wechat: ResilientWechatClient,
    private readonly replayGuard: LoginCodeReplayGuard,
    private readonly users: UsersService,
  ) {}

  resolveApp(appid: string | undefined): WechatAppCredentials {
    const app = this.config.wechat.apps.get(appid ?? this.config.wechat.defaultAppid);
    if (!app) throw new AppException('UNKNOWN_APPID');
    return app;
  }

  async login(appid: string | undefined, code: string): Promise<WechatLogin> {
    const app = this.resolveApp(appid);
    const session = await this.replayGuard.exchangeOnce(app.appid, code, () =>
      this.wechat.code2Session(app, code),
    );
    const { user, isNew } = await this.users.resolveIdentity({ appid: app.appid, ...session });
    return { user, appid: app.appid, isNew };
  }
}
