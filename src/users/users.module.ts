import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdentitiesController } from './identities.controller';
import { LinkTickets } from './link-tickets';
import { ProfileChecks } from './profile-checks';
import { ProfileModeration } from './profile-moderation';
import { ProfileUpdate } from './profile-update';
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
  providers: [
    UsersService,
    UserDirectory,
    UserReadCache,
    LinkTickets,
    ProfileChecks,
    ProfileModeration,
    ProfileUpdate,
  ],
  // ProfileChecks and ProfileModeration: for the content check (wechat-auth/content) to plug in.
  exports: [UsersService, UserDirectory, LinkTickets, ProfileChecks, ProfileModeration],
})
export class UsersModule {}
