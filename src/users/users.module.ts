import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretBox } from '../common/crypto/secret-box';
import { AppConfig } from '../config/app-config';
import { User } from './user.entity';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';
import { WechatIdentity } from './wechat-identity.entity';

@Module({
  imports: [TypeOrmModule.forFeature([User, WechatIdentity])],
  controllers: [UsersController],
  providers: [
    UsersService,
    {
      provide: SecretBox,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new SecretBox(c.sessionKeyEncryptionKey),
    },
  ],
  exports: [UsersService],
})
export class UsersModule {}
