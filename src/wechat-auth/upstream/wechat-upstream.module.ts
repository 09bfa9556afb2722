import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InterfaceTokenService } from '../interface-token/interface-token.service';
import { WechatApi } from '../wechat-api';
import { WechatCallPolicy } from './wechat-call-policy';
import { HTTP_REQUEST, WechatHttp } from './wechat-http';
import { createWechatPool } from './wechat-pool';

const WECHAT_POOL = Symbol('WECHAT_POOL');

/**
 * WeChat's API as this service calls it: one HTTP pool, the call policy (deadlines, retries, breakers,
 * concurrency), the interface token (one cache per instance, shared through the store) and WechatApi on
 * top. A plain static module, so every room that calls WeChat — the login, phone and open-data routes,
 * the partners' interface-token route — imports it and Nest builds it once.
 */
@Module({
  providers: [
    WechatHttp,
    WechatCallPolicy,
    InterfaceTokenService,
    WechatApi,
    { provide: WECHAT_POOL, inject: [AppConfig], useFactory: createWechatPool },
    {
      provide: HTTP_REQUEST,
      inject: [WECHAT_POOL],
      useFactory: (pool: ReturnType<typeof createWechatPool>) => pool.request,
    },
  ],
  exports: [WechatApi, InterfaceTokenService],
})
export class WechatUpstreamModule implements OnApplicationShutdown {
  constructor(@Inject(WECHAT_POOL) private readonly pool: ReturnType<typeof createWechatPool>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.close();
  }
}
