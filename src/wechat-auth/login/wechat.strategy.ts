import { Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { validateBody } from '../../common/validation/validate-body';
import { LoginRequest } from './dto/login.request';
import { WechatAuthService, type WechatLogin } from './wechat-auth.service';

/** Which app's login service a request belongs to (see WechatStrategy). */
const LOGIN_SERVICE = Symbol('wechatLoginService');
type TaggedRequest = FastifyRequest & { [LOGIN_SERVICE]?: WechatAuthService };

/**
 * passport-custom strategy 'wechat': the login code comes from the JSON body
 * only (never the query string, which ends up in access logs), and is checked
 * before anything is sent to WeChat.
 *
 * Passport keeps strategies in one process-wide registry, so with two Nest apps in one process (the
 * two-instance tests) the last app's strategy would serve both apps' logins — against the other app's
 * database, store and in-process state. Each app therefore tags its requests with its own login service,
 * and whichever strategy instance passport calls uses the request's.
 */
@Injectable()
export class WechatStrategy extends PassportStrategy(Strategy, 'wechat') implements OnModuleInit {
  constructor(
    private readonly auth: WechatAuthService,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    super();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost?.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onRequest', (request: TaggedRequest, _reply, done) => {
      request[LOGIN_SERVICE] = this.auth;
      done();
    });
  }

  async validate(request: TaggedRequest): Promise<WechatLogin> {
    const body = await validateBody(LoginRequest, request.body);
    return (request[LOGIN_SERVICE] ?? this.auth).login(body.appid, body.code);
  }
}
