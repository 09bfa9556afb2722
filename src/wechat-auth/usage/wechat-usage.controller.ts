import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { UsageQuery, UsageReport } from './dto/usage.dto';
import { WechatUsageService } from './wechat-usage.service';

@ApiTags('admin')
@Access({ user: { roles: ['admin'] } })
@Controller('admin/usage')
export class WechatUsageController {
  constructor(private readonly usage: WechatUsageService) {}

  @Get('wechat')
  @NoStoreOk(UsageReport)
  @ApiOperation({
    summary:
      "Requests to WeChat's metered APIs per app and Beijing day (sent / answered / failed), with the daily caps.",
  })
  @ApiErrors('VALIDATION_FAILED', 'DATABASE_UNAVAILABLE')
  report(@Query() q: UsageQuery): Promise<UsageReport> {
    return this.usage.report(q.from, q.to);
  }
}
