import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { validateBody } from '../../common/validation/validate-body';
import { LoginRequest } from './dto/login.request';
import { WechatAuthService, type WechatLogin } from './wechat-auth.service';

/**
 * passport-custom strategy 'wechat': the login code comes from the JSON body
 * only (never the query string, which ends up in access logs), and is checked
 * before anything is sent to WeChat.
 */
@Injectable()
export class WechatStrategy extends PassportStrategy(Strategy, 'wechat') {
  constructor(private readonly auth: WechatAuthService) {
    super();
  }

  async validate(request: FastifyRequest): Promise<WechatLogin> {
    const body = await validateBody(LoginRequest, request.body);
    return this.auth.login(body.appid, body.code);
  }
}
