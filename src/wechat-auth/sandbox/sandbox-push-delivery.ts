import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import type { SandboxMediaCheck } from './sandbox-content';
import { mediaCheckEvent, signedPush } from './sandbox-events';

/**
 * Plays WeChat's message push in development: sends `event` to this service's own `/wechat/events`, signed
 * with WECHAT_EVENT_TOKEN (and encrypted when WECHAT_EVENT_AES_KEY is set), and says what it answered.
 * Needs the token; the caller checks.
 */
export async function pushToSelf(
  config: AppConfig,
  appid: string,
  event: Record<string, unknown>,
): Promise<{ status: number; answer: string }> {
  const push = signedPush({
    token: config.wechatEvents.token ?? '',
    aesKey: config.wechatEvents.aesKey,
    appid,
    event,
  });
  const url = new URL(`http://127.0.0.1:${config.port}/wechat/events`);
  for (const [k, v] of Object.entries(push.query)) url.searchParams.set(k, v);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(push.body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, answer: (await res.text()).slice(0, 200) };
}

const logger = new Logger('SandboxWechat');

/**
 * What the mounted sandbox does with an image check it accepted: WeChat's `wxa_media_check` push, after
 * SANDBOX_MEDIA_CHECK_DELAY_MS (a timer that never keeps the process alive). Without WECHAT_EVENT_TOKEN
 * there is nowhere to push: logged.
 */
export function scheduleMediaVerdict(config: AppConfig, check: SandboxMediaCheck): void {
  if (config.wechatEvents.token === undefined) {
    logger.warn('media_check_async in the sandbox: no WECHAT_EVENT_TOKEN, so no verdict will be pushed');
    return;
  }
  setTimeout(() => {
    pushToSelf(config, check.appid, mediaCheckEvent(check)).then(
      ({ status }) =>
        logger.debug({ traceId: check.traceId, status }, 'sandbox pushed a media check verdict'),
      (e: unknown) =>
        logger.warn(
          { traceId: check.traceId, error: e instanceof Error ? e.name : typeof e },
          'sandbox media check push failed',
        ),
    );
  }, config.content.sandboxVerdictDelayMs).unref();
}
