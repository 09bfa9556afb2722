import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditService } from './audit.service';
import { AuthEvent } from './auth-event.entity';

/**
 * The audit trail (`auth_events`): import it in each feature module that records events. Its retention purge
 * runs in MaintenanceModule (the server's background jobs).
 */
@Module({
  imports: [TypeOrmModule.forFeature([AuthEvent])],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
