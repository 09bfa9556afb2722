import { defineSlice, integer, oneOf } from '../../config/config-slice';

/** What the risk gate does with WeChat's getuserriskrank (RiskGate). */
export type RiskCheckMode = 'off' | 'observe' | 'block';

export interface RiskConfig {
  /** `off`: no call at all; `observe`: rank stored and audited; `block`: also refused at `blockRank` and above. */
  mode: RiskCheckMode;
  /** 1–4: the lowest rank `block` refuses (WeChat's ranks are 0–4, higher is riskier). */
  blockRank: number;
}

export const riskConfig = defineSlice({
  title: 'Risk check',
  variables: {
    WECHAT_RISK_CHECK: oneOf(['off', 'observe', 'block'], {
      default: 'off',
      description:
        "WeChat's user risk rank (getuserriskrank, scene 0) at a new identity's first mini-program login and " +
        'before a phone lookup: `off` calls nothing; `observe` stores the rank on the identity and audits it; ' +
        '`block` also refuses a rank at or above `WECHAT_RISK_BLOCK_RANK` (403 `RISK_BLOCKED`). A failed check ' +
        'lets the request through (audited `risk.check_failed`)',
    }),
    WECHAT_RISK_BLOCK_RANK: integer({
      default: 4,
      min: 1,
      max: 4,
      description:
        'with `WECHAT_RISK_CHECK=block`: the lowest rank refused (WeChat ranks 0–4, higher is riskier)',
    }),
  },
  build: (v) => ({ risk: { mode: v.WECHAT_RISK_CHECK, blockRank: v.WECHAT_RISK_BLOCK_RANK } }),
});
