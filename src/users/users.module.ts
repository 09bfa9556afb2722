import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdentitiesController } from './identities.controller';
import { LinkTickets } from './link-tickets';
import { User } from './user.entity';
import { UserDirectory } from './user-directory.service';
import { UserReadCache } from './user-read-cache';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';
import { WechatIdentity } from './wechat-identity.entity';

/** SecretBox (session_keys at rest) comes from the global CommonModule. */
@Module({
  imports: [TypeOrmModule.forFeature([User, WechatIdentity])],
  controllers: [UsersController, IdentitiesController],
  providers: [UsersService, UserDirectory, UserReadCache, LinkTickets],
  exports: [UsersService, UserDirectory, LinkTickets],
})
export class UsersModule {}
