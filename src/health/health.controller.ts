import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth/access.decorator';
import { AppException } from '../common/errors/app.exception';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { Readiness, type ReadinessReport } from './readiness.service';

@ApiTags('health')
@Access({ public: true })
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get()
  @ApiOperation({ summary: 'Ready to serve: the database (and Redis, when configured) answer.' })
  @ApiOkResponse({
    description: '`{ status: "ok", info: { database: { status: "up" }, store: { status: "up" } } }`',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`SERVICE_UNAVAILABLE`, with Retry-After.',
  })
  check(): Promise<ReadinessReport> {
    return this.ready();
  }

  @Get('ready')
  @ApiOperation({ summary: 'Same as /health, for orchestrators that separate readiness from liveness.' })
  @ApiOkResponse({ description: 'Ready.' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`SERVICE_UNAVAILABLE`, with Retry-After.',
  })
  async ready(): Promise<ReadinessReport> {
    // A plain 503: the probe is public and need not tell anyone which dependency is down (the log does).
    const report = await this.readiness.check();
    if (!report) throw new AppException('SERVICE_UNAVAILABLE');
    return report;
  }

  @Get('live')
  @ApiOperation({ summary: 'The process is up (checks nothing else).' })
  @ApiOkResponse({ description: '`{ status: "ok" }`' })
  live(): { status: 'ok' } {
    // No I/O: an instance whose database is down is alive (restarting it would not help).
    return { status: 'ok' };
  }
}
