import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InterfaceTokenService } from '../interface-token/interface-token.service';
import { WechatApi } from '../wechat-api';
import { WechatCallPolicy } from './wechat-call-policy';
import { createWechatFetch } from './wechat-fetch';
import { FETCH, WechatHttp } from './wechat-http';

const WECHAT_HTTP = Symbol('WECHAT_HTTP');

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
    { provide: WECHAT_HTTP, inject: [AppConfig], useFactory: createWechatFetch },
    {
      provide: FETCH,
      inject: [WECHAT_HTTP],
      useFactory: (http: ReturnType<typeof createWechatFetch>) => http.fetch,
    },
  ],
  exports: [WechatApi, InterfaceTokenService],
})
export class WechatUpstreamModule implements OnApplicationShutdown {
  constructor(@Inject(WECHAT_HTTP) private readonly http: ReturnType<typeof createWechatFetch>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }
}
