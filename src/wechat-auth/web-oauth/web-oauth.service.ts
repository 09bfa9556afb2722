import { createHash } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { asAppException } from '../../common/errors/to-error-response';
import { Random } from '../../common/random/random';
import type { RequestContext } from '../../common/request-context';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { SignInService } from '../sign-in/sign-in.service';
import { LoginTicketService } from '../tickets/login-ticket.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import type { WebScope } from './dto/authorize.query';
import { SnsAccessTokenCall, SnsUserInfoCall, type SnsUserInfo } from './sns-access-token.endpoint';

/** WeChat keeps its authorize page open about that long; after it, the login starts again. */
export const STATE_TTL_MS = 10 * 60_000;
/** A repeat of a completed callback (WeChat's double delivery) gets the same answer this long. */
export const CALLBACK_REPLAY_MS = 60_000;
/** How often a repeat that arrived while the first was still at WeChat looks for its answer. */
const REPEAT_POLL_MS = 100;
const STATE = /^[A-Za-z0-9_-]{43}$/;

export type WebKind = 'oa' | 'web';

/** A started login, sealed in the store under the hash of its state. */
interface StateRecord {
  appid: string;
  kind: WebKind;
  scope: WebScope;
  returnTo: string;
  /** sha256 of the browser's binding cookie. */
  binding: string;
  linkTicket?: string;
}

/** A callback's answer, kept for WeChat's double delivery. */
interface CallbackRecord {
  binding: string;
  /** sha256 of the code it came with ('' for none). */
  code: string;
  location: string;
}

const PENDING = 'pending';

/** What a browser login starts from: the page's query (`onlyKind`: the door allows only that kind). */
export interface StartInput {
  appid: string;
  scope?: WebScope;
  returnTo: string;
  linkTicket?: string;
  onlyKind?: WebKind;
}

export interface StartedLogin {
  appid: string;
  scope: WebScope;
  state: string;
  redirectUri: string;
  /** Where to send the browser (the authorize endpoint). */
  location: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The kind of an app as the identity graph's WECHAT_APPS `appid:secret:kind` declares it. */
function kindOf(app: WechatAppCredentials): string {
  // Read loosely: the kind is declared by the identity graph's part of the configuration.
  return (app as { kind?: string }).kind ?? 'miniprogram';
}

/**
 * The browser doors: an Official Account's H5 pages (snsapi_base / snsapi_userinfo) and a website's QR
 * login (snsapi_login). One flow; the appid's kind picks WeChat's page. The state is random, kept sealed
 * in the shared store (any instance may receive the callback), single use, and valid only in the browser
 * that started it; the login ends in a redirect to `returnTo` carrying a one-time ticket, never a token.
 */
@Injectable()
export class WebOAuthService {
  private readonly logger = new Logger(WebOAuthService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly signIn: SignInService,
    private readonly tickets: LoginTicketService,
    private readonly store: KvStore,
    private readonly box: SecretBox,
    private readonly random: Random,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {}

  /** A new browser binding value (the cookie), when the browser has none yet. */
  newBinding(): string {
    return this.random.bytes(32).toString('base64url');
  }

  /** Validates the request, stores the state and builds WeChat's URL. `origin`: this service's, when PUBLIC_URL is unset. */
  async start(input: StartInput, binding: string, origin: string): Promise<StartedLogin> {
    const app = this.config.wechat.apps.get(input.appid);
    const kind = app ? kindOf(app) : undefined;
    if (!app || (kind !== 'oa' && kind !== 'web') || (input.onlyKind && kind !== input.onlyKind))
      throw new AppException('UNKNOWN_APPID');
    const returnTo = this.allowedReturnTo(input.returnTo);
    const scope = this.scopeFor(kind, input.scope);

    const state = this.random.bytes(32).toString('base64url');
    const record: StateRecord = {
      appid: app.appid,
      kind,
      scope,
      returnTo,
      binding: sha256(binding),
      ...(input.linkTicket ? { linkTicket: input.linkTicket } : {}),
    };
    const key = StoreKeys.webOAuthState(sha256(state));
    await this.store.set(key, this.box.seal(JSON.stringify(record), key), STATE_TTL_MS);

    const redirectUri = `${this.config.publicUrl ?? origin}/auth/wechat/oauth/callback`;
    const { openBase } = this.config.webOAuth;
    // WeChat reads its parameters in this order and insists on #wechat_redirect (WECHAT.md, web OAuth).
    const params = new URLSearchParams({
      appid: app.appid,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      state,
    });
    const location =
      kind === 'oa'
        ? `${openBase}/connect/oauth2/authorize?${params}&connect_redirect=1#wechat_redirect`
        : `${openBase}/connect/qrconnect?${params}#wechat_redirect`;
    return { appid: app.appid, scope, state, redirectUri, location };
  }

  /**
   * WeChat's redirect back: where to send the browser. 400 STATE_INVALID (thrown) for a state that is
   * missing, unknown, spent or from another browser; every later failure goes to `returnTo#error=CODE`.
   */
  async callback(
    code: string | undefined,
    state: string | undefined,
    binding: string | undefined,
    context?: RequestContext,
  ): Promise<string> {
    if (!state || !STATE.test(state) || !binding) throw new AppException('STATE_INVALID');
    const stateHash = sha256(state);
    const bindingHash = sha256(binding);
    const codeHash = code ? sha256(code) : '';
    const stateKey = StoreKeys.webOAuthState(stateHash);
    const callbackKey = StoreKeys.webOAuthCallback(stateHash);
    const deadline = Deadline.after(this.clock, this.config.wechat.loginDeadlineMs);

    const sealed = await this.store.get(stateKey);
    const record = sealed === null ? undefined : this.openState(stateKey, sealed);
    if (record) {
      // Only the browser that started the login may finish it; the state stays for that browser.
      if (record.binding !== bindingHash) throw new AppException('STATE_INVALID');
      // One callback per state does the work (on any instance); a repeat waits for its answer.
      const pendingMs = this.config.wechat.loginDeadlineMs + CALLBACK_REPLAY_MS;
      if (await this.store.setIfAbsent(callbackKey, PENDING, pendingMs)) {
        await this.store.delete(stateKey);
        const location = await this.complete(record, code, deadline, context);
        const answer: CallbackRecord = { binding: bindingHash, code: codeHash, location };
        await this.store.set(
          callbackKey,
          this.box.seal(JSON.stringify(answer), callbackKey),
          CALLBACK_REPLAY_MS,
        );
        return location;
      }
    }
    return this.repeat(callbackKey, bindingHash, codeHash, deadline);
  }

  /** A callback whose state was already taken: the first one's answer, for the same browser and code. */
  private async repeat(key: string, binding: string, code: string, deadline: Deadline): Promise<string> {
    for (;;) {
      const kept = await this.store.get(key);
      if (kept === null) throw new AppException('STATE_INVALID');
      if (kept !== PENDING) {
        const answer = this.openCallback(key, kept);
        if (!answer || answer.binding !== binding || answer.code !== code)
          throw new AppException('STATE_INVALID');
        return answer.location;
      }
      if (deadline.remainingMs() <= REPEAT_POLL_MS) throw new AppException('STATE_INVALID');
      await this.clock.sleep(REPEAT_POLL_MS);
    }
  }

  /** WeChat's code → identity → sign-in → ticket; any failure becomes `returnTo#error=CODE`. */
  private async complete(
    record: StateRecord,
    code: string | undefined,
    deadline: Deadline,
    context: RequestContext | undefined,
  ): Promise<string> {
    const { appid, kind } = record;
    try {
      // WeChat sends the user back without a code when they decline.
      if (!code) throw new AppException('ACCESS_DENIED');
      const app = this.config.wechat.apps.get(appid);
      if (!app || kindOf(app) !== kind) throw new AppException('UNKNOWN_APPID');
      const token = await this.wechat.call(new SnsAccessTokenCall(), app, code, deadline, context);
      // A snapshot-page visitor is a virtual account WeChat made up for the preview: never a user.
      if (token.isSnapshotUser) throw new AppException('SNAPSHOT_USER');
      let info: SnsUserInfo | undefined;
      if (record.scope !== 'snsapi_base')
        info = await this.wechat.call(
          new SnsUserInfoCall(),
          app,
          { accessToken: token.accessToken, openid: token.openid },
          deadline,
          context,
        );
      const unionid = info?.unionid ?? token.unionid;
      const profile =
        info && (info.nickname || info.avatarUrl)
          ? {
              ...(info.nickname ? { nickname: info.nickname } : {}),
              ...(info.avatarUrl ? { avatarUrl: info.avatarUrl } : {}),
            }
          : undefined;
      const login = await this.signIn.signIn(
        {
          kind,
          appid,
          openid: token.openid,
          ...(unionid ? { unionid } : {}),
          ...(profile ? { profile } : {}),
        },
        { ...(record.linkTicket ? { linkTicket: record.linkTicket } : {}), context, deadline },
      );
      const ticket = await this.tickets.issue(login);
      this.metrics.login(appid, kind, 'success');
      return withFragment(record.returnTo, { ticket });
    } catch (e) {
      const known = asAppException(e);
      const reason: ErrorCode = known?.code ?? 'INTERNAL_ERROR';
      if (!known) this.logger.error({ err: e, appid, kind }, 'browser login failed unexpectedly');
      this.metrics.login(appid, kind, reason);
      await this.audit.record({ type: 'login.failed', appid, reason, context }).catch(() => undefined);
      return withFragment(record.returnTo, { error: reason });
    }
  }

  private allowedReturnTo(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppException('RETURN_TO_NOT_ALLOWED');
    }
    if (url.username || url.password || !this.config.webOAuth.returnOrigins.includes(url.origin))
      throw new AppException('RETURN_TO_NOT_ALLOWED');
    url.hash = '';
    return url.href;
  }

  private scopeFor(kind: WebKind, scope: WebScope | undefined): WebScope {
    if (kind === 'web') {
      if (scope !== undefined && scope !== 'snsapi_login')
        throw new AppException(
          'VALIDATION_FAILED',
          {},
          'A website (web) appid logs in with scope snsapi_login.',
        );
      return 'snsapi_login';
    }
    if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo')
      throw new AppException(
        'VALIDATION_FAILED',
        {},
        'An Official Account (oa) appid needs scope snsapi_base or snsapi_userinfo.',
      );
    return scope;
  }

  private openState(key: string, sealed: string): StateRecord | undefined {
    try {
      return JSON.parse(this.box.open(sealed, key)) as StateRecord;
    } catch {
      return undefined; // sealed under a rotated key: as if absent
    }
  }

  private openCallback(key: string, sealed: string): CallbackRecord | undefined {
    try {
      return JSON.parse(this.box.open(sealed, key)) as CallbackRecord;
    } catch {
      return undefined;
    }
  }
}

/** `returnTo` with the answer in its fragment: never sent to a server, not in Referer, not in access logs. */
function withFragment(returnTo: string, values: Record<string, string>): string {
  const url = new URL(returnTo);
  url.hash = new URLSearchParams(values).toString();
  return url.href;
}
