import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock/clock';
import { TokenModule } from '../token/token.module';
import { ContentModule } from '../wechat-auth/content/content.module';
import { ContentRecheckScheduler } from './content-recheck.scheduler';
import { RevocationArchive } from '../token/revocation/revocation-archive';
import { SessionService } from '../token/sessions/session.service';
import { IntervalTimer, NodeIntervalTimer } from './interval-timer';
import { type Purge, PURGES, PurgeScheduler } from './purge.scheduler';

/**
 * Background jobs of the server: the purges, and the re-submit of avatars WeChat left without a verdict. Imported by the app only (AppModule `jobs`), so the operator CLI,
 * which boots the same modules, never deletes anything on its own.
 */
@Module({
  imports: [AuditModule, TokenModule, ContentModule],
  providers: [
    PurgeScheduler,
    ContentRecheckScheduler,
    { provide: IntervalTimer, useClass: NodeIntervalTimer },
    {
      provide: PURGES,
      inject: [AuditService, SessionService, RevocationArchive, Clock],
      useFactory: (
        audit: AuditService,
        sessions: SessionService,
        archive: RevocationArchive,
        clock: Clock,
      ): Purge[] => [
        { name: 'audit retention', run: () => audit.purgeOlderThan() },
        { name: 'expired refresh tokens', run: () => sessions.purgeExpired() },
        { name: 'expired revocations', run: () => archive.purge(clock.now()) },
      ],
    },
  ],
})
export class MaintenanceModule {}
