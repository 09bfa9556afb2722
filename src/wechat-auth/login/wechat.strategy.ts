import { requestContextOf } from '../../common/request-context';
import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
import { Strategy } from 'passport-custom';
import { validateBody } from '../../common/validation/validate-body';
import { LoginRequest } from './dto/login.request';
import { WechatAuthService, type WechatLogin } from './wechat-auth.service';

const OWN_PASSPORT = Symbol('ownPassport');

/**
 * passport-custom strategy 'wechat': the login code comes from the JSON body
 * only (never the query string, which ends up in access logs), and is checked
 * before anything is sent to WeChat.
 *
 * Registered on a Passport of its own, not passport's process-wide default: with the default, the last
 * app started in a process (two instances in one test process, an app beside a CLI context) would serve
 * every app's logins, against its own database and state. WechatLoginGuard authenticates with it.
 */
@Injectable()
export class WechatStrategy extends PassportStrategy(Strategy, 'wechat') {
  constructor(private readonly auth: WechatAuthService) {
    super();
  }

  /**
   * Where @nestjs/passport's PassportStrategy registers the strategy (its documented hook for an
   * instance other than the global one). Called from the base constructor, before this class's fields
   * exist, hence a symbol property rather than a field.
   */
  getPassportInstance(): passport.Authenticator {
    const self = this as unknown as { [OWN_PASSPORT]?: passport.Authenticator };
    return (self[OWN_PASSPORT] ??= new passport.Passport());
  }

  async validate(request: FastifyRequest): Promise<WechatLogin> {
    const body = await validateBody(LoginRequest, request.body);
    return this.auth.login(body.appid, body.code, requestContextOf(request), body.linkTicket);
  }
}

/**
 * The login route's guard: @nestjs/passport's AuthGuard('wechat') always asks the process-wide passport,
 * so this one asks this app's strategy's own Passport instead, with AuthGuard's semantics (no session; the
 * login on `request.user`; the strategy's error, or 401, on failure).
 */
@Injectable()
export class WechatLoginGuard implements CanActivate {
  constructor(private readonly strategy: WechatStrategy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: WechatLogin }>();
    request.user = await new Promise<WechatLogin>((resolve, reject) => {
      const authenticate = this.strategy
        .getPassportInstance()
        .authenticate('wechat', { session: false }, (err: unknown, user: WechatLogin | false) => {
          if (err) reject(err as Error);
          else if (!user) reject(new UnauthorizedException());
          else resolve(user);
        }) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      authenticate(request, http.getResponse(), (err) =>
        reject(err instanceof Error ? err : new UnauthorizedException()),
      );
    });
    return true;
  }
}
