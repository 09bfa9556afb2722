import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { AppConfig, type WechatAppCredentials } from '../config/app-config';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { WechatApiClient } from './wechat-api.client';
import { toAppException } from './wechat-error-mapping';
import { WechatUpstreamError } from './wechat-upstream.error';

export interface WechatLogin {
  user: User;
  appid: string;
  isNew: boolean;
}

/** Login logic: which app, the code exchange, then the user. Holds no I/O of its own. */
@Injectable()
export class WechatAuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly client: WechatApiClient,
    private readonly users: UsersService,
    private readonly clock: Clock,
  ) {}

  resolveApp(appid: string | undefined): WechatAppCredentials {
    const app = this.config.wechat.apps.get(appid ?? this.config.wechat.defaultAppid);
    if (!app) throw new AppException('UNKNOWN_APPID');
    return app;
  }

  async login(appid: string | undefined, code: string): Promise<WechatLogin> {
    const app = this.resolveApp(appid);
    let session;
    try {
      session = await this.client.code2Session(app, code);
    } catch (e) {
      throw e instanceof WechatUpstreamError ? toAppException(e, this.clock.now()) : e;
    }
    const { user, isNew } = await this.users.resolveIdentity({ appid: app.appid, ...session });
    return { user, appid: app.appid, isNew };
  }
}
