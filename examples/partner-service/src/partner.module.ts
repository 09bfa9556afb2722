import 'reflect-metadata';
import { Controller, type DynamicModule, Get, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  LiveTokenGuard,
  WECHAT_AUTH_OPTIONS,
  type WechatAuthOptions,
  WechatIntrospection,
  WechatTokenGuard,
  type WechatUser,
} from './our-tokens';

@Controller()
export class OrdersController {
  /** Verified locally with the JWKS. */
  @Get('orders')
  @UseGuards(WechatTokenGuard)
  orders(@Req() request: { user: WechatUser }): { userId: string; orders: unknown[] } {
    return { userId: request.user.userId, orders: [] };
  }

  /** Checked with wechat-auth on every call: a logged-out session is refused at once. */
  @Get('wallet')
  @UseGuards(LiveTokenGuard)
  wallet(@Req() request: { user: WechatUser }): { userId: string; balance: number } {
    return { userId: request.user.userId, balance: 0 };
  }
}

@Module({})
export class PartnerModule {
  static forRoot(options: WechatAuthOptions): DynamicModule {
    return {
      module: PartnerModule,
      controllers: [OrdersController],
      providers: [
        { provide: WECHAT_AUTH_OPTIONS, useValue: options },
        WechatTokenGuard,
        WechatIntrospection,
        LiveTokenGuard,
      ],
    };
  }
}

export async function createPartnerApp(options: WechatAuthOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    PartnerModule.forRoot(options),
    new FastifyAdapter(),
    {
      logger: false,
    },
  );
  return app;
}
