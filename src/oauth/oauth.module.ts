import { Module } from '@nestjs/common';
import { ServiceClientVerifier } from '../common/auth/verifiers';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { WechatUpstreamModule } from '../wechat-auth/upstream/wechat-upstream.module';
import { InternalWechatController } from './internal-wechat.controller';
import { IntrospectionController } from './introspection.controller';
import { IntrospectionService } from './introspection.service';
import { ServiceClientBasicVerifier } from './service-client.verifier';
import { WellKnownController } from './well-known.controller';

/**
 * What partner services use: the JWKS and RFC 8414 metadata (public), token introspection and the
 * WeChat interface token (service clients, HTTP Basic: the service side of AccessGuard). Keys themselves
 * live in TokenModule (JwtKeyManager); the interface token in WechatUpstreamModule.
 */
@Module({
  imports: [TokenModule, UsersModule, WechatUpstreamModule],
  controllers: [WellKnownController, IntrospectionController, InternalWechatController],
  providers: [IntrospectionService, { provide: ServiceClientVerifier, useClass: ServiceClientBasicVerifier }],
  exports: [ServiceClientVerifier],
})
export class OAuthModule {}
