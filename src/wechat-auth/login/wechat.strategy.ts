import { requestContextOf } from '../../common/request-context';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
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
 * database, store and in-process state. Each app's login route therefore tags its requests with its own
 * login service (LoginServiceBinding, before AuthGuard('wechat')), and whichever strategy instance
 * passport calls uses the request's.
 */
@Injectable()
export class WechatStrategy extends PassportStrategy(Strategy, 'wechat') {
  constructor(private readonly auth: WechatAuthService) {
    super();
  }

  async validate(request: TaggedRequest): Promise<WechatLogin> {
    const body = await validateBody(LoginRequest, request.body);
    return (request[LOGIN_SERVICE] ?? this.auth).login(body.appid, body.code, requestContextOf(request));
  }
}

/** Runs on the login route only, right before AuthGuard('wechat'): binds the request to this app. */
@Injectable()
export class LoginServiceBinding implements CanActivate {
  constructor(private readonly auth: WechatAuthService) {}

  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<TaggedRequest>()[LOGIN_SERVICE] = this.auth;
    return true;
  }
}
