import { defineSlice, integer, oneOf } from '../../config/config-slice';

/** WeChat's content checks on the profile (docs/content-checks.md). */
export interface ContentConfig {
  /** WECHAT_CONTENT_CHECK=on: nicknames through msg_sec_check, avatars through media_check_async. */
  enabled: boolean;
  /** The sandbox's delay before it pushes an avatar's verdict to `/wechat/events`. */
  sandboxVerdictDelayMs: number;
}

export const contentConfig = defineSlice({
  title: 'Content checks',
  variables: {
    WECHAT_CONTENT_CHECK: oneOf(['off', 'on'] as const, {
      default: 'off',
      description:
        "`on`: a new nickname goes through WeChat's text check (`msg_sec_check`: risky → 422 " +
        "`CONTENT_REJECTED`), a new avatar through its image check (`media_check_async`: pending until WeChat's " +
        'verdict arrives by message push, which needs `WECHAT_EVENT_TOKEN`); `off`: profiles are saved as sent ' +
        'and WeChat is not called',
    }),
    SANDBOX_MEDIA_CHECK_DELAY_MS: integer({
      default: 2000,
      min: 0,
      max: 600000,
      description:
        "sandbox only: how long after `media_check_async` the sandbox pushes the image's verdict to this " +
        "service's `/wechat/events`",
    }),
  },
  build: (v, ctx, built) => {
    const enabled = v.WECHAT_CONTENT_CHECK === 'on';
    if (enabled && built.wechatEvents?.token === undefined) {
      ctx.problem(
        "WECHAT_CONTENT_CHECK=on needs WECHAT_EVENT_TOKEN: an avatar's verdict arrives by WeChat's message push",
      );
      return undefined;
    }
    const content: ContentConfig = { enabled, sandboxVerdictDelayMs: v.SANDBOX_MEDIA_CHECK_DELAY_MS };
    return { content };
  },
});
