import { Module } from '@nestjs/common';
import { DatabasePing, StorePing } from './dependency-pings';
import { HealthController } from './health.controller';
import { Readiness } from './readiness.service';

@Module({
  controllers: [HealthController],
  providers: [DatabasePing, StorePing, Readiness],
})
export class HealthModule {}
