import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { AdminController } from './admin.controller';

/**
 * Accounts as a whole — status, roles, sessions, erasure, export — for the user and for admins. It sits
 * above users, token and audit (which must not know each other's internals), so that each change stops
 * the right tokens and leaves its audit row.
 */
@Module({
  imports: [UsersModule, TokenModule, AuditModule],
  controllers: [AccountController, AdminController],
  providers: [AccountService],
  exports: [AccountService],
})
export class AccountModule {}
