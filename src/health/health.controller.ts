import { Controller, Get, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Access } from '../common/auth/access.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { StoreHealthIndicator } from './store-health.indicator';

@ApiTags('health')
@Access({ public: true })
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  /** The failing checks at the last probe, comma-separated ('' while ready). */
  private lastDown = '';

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

  /**
   * The answer stays a plain 503 (the probe is public: it need not tell anyone which dependency is down);
   * the log says which, once each time the set of failing checks changes (probes come every few seconds).
   */
  private async readiness(): Promise<HealthCheckResult> {
    try {
      const result = await this.health.check([
        () => this.db.pingCheck('database', { timeout: 2000 }),
        () => this.store.check('store'),
      ]);
      this.report([]);
      return result;
    } catch (e) {
      if (e instanceof ServiceUnavailableException) {
        const error = (e.getResponse() as { error?: Record<string, unknown> }).error ?? {};
        this.report(Object.keys(error).sort());
      }
      throw e;
    }
  }

  private report(down: string[]): void {
    const now = down.join(',');
    if (now === this.lastDown) return;
    if (down.length > 0) this.logger.warn({ down }, `not ready: ${now} not answering`);
    else if (this.lastDown !== '') this.logger.log(`ready again (was down: ${this.lastDown})`);
    this.lastDown = now;
  }
}
