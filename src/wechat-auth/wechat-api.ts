import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import type { RequestContext } from '../common/request-context';
import type { WechatAppCredentials } from '../config/app-config';
import { InterfaceTokenService } from './interface-token/interface-token.service';
import type { Deadline } from './upstream/deadline';
import { InterfaceTokenRejected, WechatCallPolicy } from './upstream/wechat-call-policy';
import type { WechatEndpoint } from './upstream/wechat-endpoint';

/**
 * The one WeChat client every feature calls: an endpoint adapter, the app, the input and the request's
 * deadline. Endpoints that need the interface access_token get it from the shared cache; when WeChat
 * refuses it (40001/40014/42001), the token is replaced once and the call retried once — never a loop.
 * `context` is the request the call serves: its id goes on the call's log lines (see CallOptions).
 */
@Injectable()
export class WechatApi {
  constructor(
    private readonly policy: WechatCallPolicy,
    private readonly tokens: InterfaceTokenService,
  ) {}

  async call<I, O>(
    endpoint: WechatEndpoint<I, O>,
    app: WechatAppCredentials,
    input: I,
    deadline: Deadline,
    context?: RequestContext,
  ): Promise<O> {
    if (!endpoint.usesAccessToken) return this.policy.call(endpoint, app, input, deadline, { context });
    const token = await this.tokens.get(app, deadline, context);
    try {
      return await this.policy.call(endpoint, app, input, deadline, { accessToken: token, context });
    } catch (e) {
      if (!(e instanceof InterfaceTokenRejected)) throw e;
    }
    const fresh = await this.tokens.replaceRejected(app, token, deadline, context);
    try {
      return await this.policy.call(endpoint, app, input, deadline, { accessToken: fresh, context });
    } catch (e) {
      if (!(e instanceof InterfaceTokenRejected)) throw e;
      throw new AppException('WX_UNAVAILABLE', { retryAfter: 5, cause: e.failure });
    }
  }
}
