import { Module } from '@nestjs/common';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { InternalWechatController } from './internal-wechat.controller';
import { IntrospectionController } from './introspection.controller';
import { IntrospectionService } from './introspection.service';
import { ServiceClientGuard } from './service-client.guard';
import { WellKnownController } from './well-known.controller';

/**
 * What partner services use: the JWKS and RFC 8414 metadata (public), token introspection and the
 * WeChat interface token (service clients, HTTP Basic). Keys themselves live in TokenModule
 * (JwtKeyManager); the interface token in WechatAuthModule.
 */
@Module({
  imports: [TokenModule, UsersModule],
  controllers: [WellKnownController, IntrospectionController, InternalWechatController],
  providers: [IntrospectionService, ServiceClientGuard],
})
export class OAuthModule {}
