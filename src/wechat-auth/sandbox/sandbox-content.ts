import { SANDBOX_ERRCODE, type SandboxContext, type WechatAnswer } from './sandbox-context';
import type { SandboxLogin } from './sandbox-login';
import type { SandboxTokens } from './sandbox-tokens';

export type SandboxSuggest = 'pass' | 'review' | 'risky';

/** An image check the sandbox accepted: its verdict, for whoever plays the message push. */
export interface SandboxMediaCheck {
  appid: string;
  traceId: string;
  suggest: SandboxSuggest;
  label: number;
}

/**
 * The sandbox's verdicts, by keyword (case-insensitive), for the text (msg_sec_check: the content) and the
 * image (media_check_async: the URL): `risky` → risky, `review` → review, anything else → pass. Labels as
 * WeChat numbers them: 100 normal, 20001 politics (risky text), 20002 porn (risky image), 21000 other
 * (review). An image URL containing `silent` gets a trace id but never a verdict (WeChat's push that does
 * not come: the 30-minute re-submit is for it).
 */
export function sandboxVerdict(
  subject: string,
  kind: 'text' | 'image',
): { suggest: SandboxSuggest; label: number } {
  const s = subject.toLowerCase();
  if (s.includes('risky')) return { suggest: 'risky', label: kind === 'text' ? 20001 : 20002 };
  if (s.includes('review')) return { suggest: 'review', label: 21000 };
  return { suggest: 'pass', label: 100 };
}

const SCENES = [1, 2, 3, 4];

/** WeChat's content security checks, version 2: msg_sec_check and media_check_async. */
export class SandboxContent {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly tokens: SandboxTokens,
    private readonly login: SandboxLogin,
    /** Told of every accepted image check (the module pushes its verdict; the tests' fake records it). */
    private readonly onMediaCheck?: (check: SandboxMediaCheck) => void,
  ) {}

  /** `POST /wxa/msg_sec_check?access_token=…` */
  async msgSecCheck(q: URLSearchParams, body: unknown): Promise<WechatAnswer> {
    const checked = await this.common(q, body);
    if (typeof checked === 'number') return this.ctx.error(checked);
    const content = checked.body.content;
    if (typeof content !== 'string' || content === '')
      return this.ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    const { suggest, label } = sandboxVerdict(content, 'text');
    return {
      errcode: 0,
      errmsg: 'ok',
      trace_id: this.traceId(),
      result: { suggest, label },
      detail: [{ strategy: 'content_model', errcode: 0, suggest, label, prob: suggest === 'pass' ? 0 : 90 }],
    };
  }

  /** `POST /wxa/media_check_async?access_token=…` */
  async mediaCheckAsync(q: URLSearchParams, body: unknown): Promise<WechatAnswer> {
    const checked = await this.common(q, body);
    if (typeof checked === 'number') return this.ctx.error(checked);
    const { media_url: url, media_type: type } = checked.body;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url) || (type !== 1 && type !== 2))
      return this.ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    const traceId = this.traceId();
    if (!url.toLowerCase().includes('silent'))
      this.onMediaCheck?.({ appid: checked.appid, traceId, ...sandboxVerdict(url, 'image') });
    return { errcode: 0, errmsg: 'ok', trace_id: traceId };
  }

  /** The interface token, version 2, the scene, and an openid this app's WeChat knows. */
  private async common(
    q: URLSearchParams,
    body: unknown,
  ): Promise<number | { appid: string; body: Record<string, unknown> }> {
    const post = await this.tokens.tokenPost(q, body);
    if (typeof post === 'number') return post;
    const { appid, body: b } = post;
    if (b.version !== 2) return SANDBOX_ERRCODE.DATA_FORMAT_ERROR;
    if (typeof b.scene !== 'number' || !SCENES.includes(b.scene)) return SANDBOX_ERRCODE.INVALID_SCENE;
    if (typeof b.openid !== 'string' || b.openid === '') return SANDBOX_ERRCODE.OPENID_MISSING;
    if (!(await this.login.sessionKey(appid, b.openid))) return SANDBOX_ERRCODE.INVALID_OPENID;
    return { appid, body: b };
  }

  private traceId(): string {
    return this.ctx.random.bytes(12).toString('hex');
  }
}
