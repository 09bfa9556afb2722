import type { WechatAppCredentials } from '../../config/app-config';
import { answerString, answerUserIds, type WechatUserIds } from '../upstream/wechat-answer';
import { codeExchange, type WechatRequest } from '../upstream/wechat-http';
import { LoginCodeCall } from './login-code-call';

// Where the phone room and the specs have always found it.
export { codeTag } from './login-code';

export interface Code2SessionResult extends WechatUserIds {
  sessionKey: string;
}

/** session_key: base64 of 16 bytes (24 chars); some slack, within the encrypted column's room. */
const SESSION_KEY = /^[A-Za-z0-9+/=]{16,64}$/;

/** `GET /sns/jscode2session`, one login's exchange of a wx.login() code (the doubt rules: LoginCodeCall). */
export class Code2SessionCall extends LoginCodeCall<Code2SessionResult> {
  readonly name = 'jscode2session';

  request(app: WechatAppCredentials, code: string): WechatRequest {
    return codeExchange('/sns/jscode2session', app, { js_code: code });
  }

  parse(body: Record<string, unknown>): Code2SessionResult {
    return { ...answerUserIds(body), sessionKey: answerString(body.session_key, SESSION_KEY) };
  }
}
