import type { WechatAppCredentials } from '../../config/app-config';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import { type LogContext, tokenPost, type WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

/** WeChat's scenes for getuserriskrank: 0 sign-up, 1 marketing fraud. Only sign-up is asked here. */
export const RISK_SCENE_SIGNUP = 0;

export interface RiskRankInput {
  openid: string;
  /** The trusted client address (`request.ip`, as the rate limits see it). */
  clientIp: string;
}

/** WeChat's answer: 0–4, higher is riskier. */
export type RiskRank = 0 | 1 | 2 | 3 | 4;

export function isRiskRank(value: unknown): value is RiskRank {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4;
}

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<RiskRank>>> = {
  // Not retried (unlike the common -1): the check fails open, and a retry would only spend the login's
  // deadline on an answer the login does not wait for.
  [WX.SYSTEM_BUSY]: { error: 'WX_UNAVAILABLE', upstreamFailure: true },
};

/**
 * `POST /wxa/getuserriskrank?access_token=…` with `{ appid, openid, scene: 0, client_ip }` → `{ errcode: 0,
 * risk_rank: 0..4, unoin_id }` (WeChat's own spelling of the request id, unused here). Errcodes of its own
 * — 40003 openid invalid, 43104 appid/openid mismatch, 61010 the user has not visited the mini program
 * recently, 48001 the API is not enabled, 9410009 the test quota is spent — all end the call as
 * WX_UNAVAILABLE, which the risk gate lets through. Metered (`risk`); resending is harmless (no
 * single-use input), so the call policy may retry a timeout within the deadline.
 */
export class GetUserRiskRankCall implements WechatEndpoint<RiskRankInput, RiskRank> {
  readonly name = 'getuserriskrank';
  readonly usesAccessToken = true;
  readonly meter = 'risk' as const;
  readonly errcodes = ERRCODES;

  request(app: WechatAppCredentials, input: RiskRankInput, accessToken: string | undefined): WechatRequest {
    return tokenPost('/wxa/getuserriskrank', accessToken, {
      appid: app.appid,
      openid: input.openid,
      scene: RISK_SCENE_SIGNUP,
      client_ip: input.clientIp,
    });
  }

  logContext(): LogContext {
    // Neither the openid nor the address: both identify the person.
    return {};
  }

  parse(body: Record<string, unknown>): RiskRank {
    if (!isRiskRank(body.risk_rank)) throw new WechatUpstreamError('unparsable');
    return body.risk_rank;
  }
}
