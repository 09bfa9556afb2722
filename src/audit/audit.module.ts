import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditRetentionScheduler } from './audit-retention.scheduler';
import { AuditService } from './audit.service';
import { AuthEvent } from './auth-event.entity';
import { IntervalTimer, NodeIntervalTimer } from './interval-timer';

/** The audit trail (`auth_events`): import it in each feature module that records events. */
@Module({
  imports: [TypeOrmModule.forFeature([AuthEvent])],
  providers: [AuditService, AuditRetentionScheduler, { provide: IntervalTimer, useClass: NodeIntervalTimer }],
  exports: [AuditService],
})
export class AuditModule {}
