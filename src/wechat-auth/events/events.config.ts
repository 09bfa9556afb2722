import { defineSlice, text } from '../../config/config-slice';

/** What WeChat's message push needs: the Token both sides sign with and, in safe mode, the EncodingAESKey. */
export interface WechatEventsConfig {
  /** WECHAT_EVENT_TOKEN; unset: `/wechat/events` answers 404 (the push is not configured here). */
  token?: string;
  /** base64(EncodingAESKey + '='): the 32-byte AES-256-CBC key of safe mode; unset: plain pushes only. */
  aesKey?: Buffer;
}

/** WeChat's own rule for the Token: 3–32 letters and digits. */
const TOKEN = /^[A-Za-z0-9]{3,32}$/;
/** The EncodingAESKey: 43 characters of the base64 alphabet (WeChat generates letters and digits). */
const ENCODING_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

export const wechatEventsConfig = defineSlice({
  title: 'WeChat message push',
  variables: {
    WECHAT_EVENT_TOKEN: text({
      defaultDoc: 'unset: `/wechat/events` answers 404',
      format: '3–32 letters and digits',
      pattern: TOKEN,
      invalid: 'must be 3–32 letters and digits',
      operator: true,
      secret: true,
      description:
        'the Token of the mini program\'s message push ("消息推送" in the admin console, JSON format): every push ' +
        'to `/wechat/events` must be signed with it',
    }),
    WECHAT_EVENT_AES_KEY: text({
      defaultDoc: 'unset: only plain-text pushes are accepted',
      format: '43 characters (base64 alphabet)',
      pattern: ENCODING_AES_KEY,
      invalid: 'must be the 43-character EncodingAESKey',
      operator: true,
      secret: true,
      description:
        'the EncodingAESKey of the message push, for safe mode (`encrypt_type=aes`); needs `WECHAT_EVENT_TOKEN`',
    }),
  },
  build: (v, ctx) => {
    if (v.WECHAT_EVENT_AES_KEY !== undefined && v.WECHAT_EVENT_TOKEN === undefined) {
      ctx.problem('WECHAT_EVENT_AES_KEY needs WECHAT_EVENT_TOKEN (safe-mode pushes are signed with it too)');
      return undefined;
    }
    const wechatEvents: WechatEventsConfig = {
      ...(v.WECHAT_EVENT_TOKEN !== undefined ? { token: v.WECHAT_EVENT_TOKEN } : {}),
      ...(v.WECHAT_EVENT_AES_KEY !== undefined
        ? { aesKey: Buffer.from(`${v.WECHAT_EVENT_AES_KEY}=`, 'base64') }
        : {}),
    };
    return { wechatEvents };
  },
});
