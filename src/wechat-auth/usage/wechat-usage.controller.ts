import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { NO_STORE_HEADERS, NoStore } from '../../common/http/no-store.decorator';
import { UsageQuery, UsageReport } from './dto/usage.dto';
import { WechatUsageService } from './wechat-usage.service';

@ApiTags('admin')
@Access({ user: { roles: ['admin'] } })
@Controller('admin/usage')
export class WechatUsageController {
  constructor(private readonly usage: WechatUsageService) {}

  @Get('wechat')
  @NoStore()
  @ApiOperation({
    summary:
      "Requests to WeChat's metered APIs per app and Beijing day (sent / answered / failed), with the daily caps.",
  })
  @ApiOkResponse({ type: UsageReport, headers: NO_STORE_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'DATABASE_UNAVAILABLE')
  report(@Query() q: UsageQuery): Promise<UsageReport> {
    return this.usage.report(q.from, q.to);
  }
}
