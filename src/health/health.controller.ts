import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Public } from '../common/auth/public.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { StoreHealthIndicator } from './store-health.indicator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly store: StoreHealthIndicator,
  ) {}

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Ready to serve: the database (and Redis, when configured) answer.' })
  @ApiOkResponse({
    description: '`{ status: "ok", info: { database: { status: "up" }, store: { status: "up" } } }`',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`SERVICE_UNAVAILABLE`, with Retry-After.',
  })
  check(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Same as /health, for orchestrators that separate readiness from liveness.' })
  @ApiOkResponse({ description: 'Ready.' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`SERVICE_UNAVAILABLE`, with Retry-After.',
  })
  ready(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  @Get('live')
  @ApiOperation({ summary: 'The process is up (checks nothing else).' })
  @ApiOkResponse({ description: '`{ status: "ok" }`' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  private readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      () => this.store.check('store'),
    ]);
  }
}
