import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { SingleFlight } from '../../common/concurrency/single-flight';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { asAppException } from '../../common/errors/to-error-response';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import type { Deadline } from '../upstream/deadline';
import type { Code2SessionResult } from './code2session.endpoint';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';

const POLL_MS = 50;
/** Outcomes that make the code useless for good; anything else (503s) lets the same code be tried again. */
const FINAL: ReadonlySet<ErrorCode> = new Set([
  'WX_CODE_INVALID',
  'WX_CODE_USED',
  'WX_USER_BLOCKED',
  'WX_RETRY_LOGIN',
]);

const USED = 'used';
const PENDING = 'pending';

/**
 * The fate of every login code, so a code reaches WeChat from one request at a time, and never again
 * once WeChat has answered for it (only the call policy's retries of an unanswered call resend it).
 * Keyed by SHA-256(appid, code):
 * - concurrent requests with one code on this instance share one exchange (single-flight);
 * - across instances a `SET NX` claim in the store (Redis when configured) elects one caller, the
 *   others wait for its outcome — within the login's own deadline, the same one the exchange then uses;
 * - once a login completed, the code answers 401 WX_CODE_USED for its remaining life without a call;
 * - when WeChat answered but the login could not complete (the database failed), WeChat's answer is kept,
 *   sealed, for the code's remaining life, so a retry with the same code completes the login instead of
 *   meeting a spent code. If even that cannot be kept, the answer is WX_RETRY_LOGIN (get a new code),
 *   never a 503 inviting a retry that cannot succeed.
 * Only the caller that ran the exchange gets its result (and so a session); the others get WX_CODE_USED,
 * or the same error when the exchange failed.
 */
@Injectable()
export class LoginCodeLedger {
  private readonly logger = new Logger(LoginCodeLedger.name);
  private readonly exchanges = new SingleFlight<unknown>();

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly box: SecretBox,
  ) {}

  /** `S`: what the exchange answers (jscode2session's session, or another door's identity): kept sealed. */
  async exchangeOnce<T, S = Code2SessionResult>(
    appid: string,
    code: string,
    deadline: Deadline,
    exchange: () => Promise<S>,
    complete: (session: S) => Promise<T>,
  ): Promise<T> {
    const hash = loginCodeHash(appid, code);
    const running = this.exchanges.current(hash);
    if (running) return follow(running);
    return (await this.exchanges.run(hash, () => this.claimAndRun(hash, deadline, exchange, complete))) as T;
  }

  private async claimAndRun<T, S>(
    hash: string,
    deadline: Deadline,
    exchange: () => Promise<S>,
    complete: (session: S) => Promise<T>,
  ): Promise<T> {
    const key = StoreKeys.loginCodeClaim(hash);
    const keptKey = StoreKeys.loginCodeAnswer(hash);
    // One round trip: the claim, and with it the answer an earlier request may have kept (or, when the claim
    // is held, its state). The pending claim expires by itself if its holder dies mid-call.
    let kept: string | null;
    for (;;) {
      const ttl = Math.max(1000, deadline.remainingMs() + 1000);
      const claim = await this.store.claim(key, PENDING, ttl, keptKey);
      if (claim.created) {
        kept = claim.value;
        break;
      }
      const state = claim.value;
      if (state === USED) throw new AppException('WX_CODE_USED');
      if (state?.startsWith('error:')) throw remembered(state.slice('error:'.length) as ErrorCode);
      if (state !== null) {
        // Another instance is exchanging this code right now (PENDING, or a value this version does not
        // know): wait for its outcome, within our deadline.
        if (!deadline.allows(POLL_MS)) throw new AppException('WX_UNAVAILABLE', { retryAfter: 1 });
        await this.clock.sleep(POLL_MS);
      }
      // null: the claim was just released; try to take it.
    }
    let session = this.kept<S>(kept, keptKey);
    const wasKept = session !== undefined;
    if (!session) {
      try {
        session = await exchange();
      } catch (e) {
        const final = e instanceof AppException && FINAL.has(e.code);
        // Bookkeeping must not hide the real error; a claim left behind expires by itself.
        await this.bestEffort(() =>
          final ? this.store.set(key, `error:${e.code}`, CODE_LIFETIME_MS) : this.store.delete(key),
        );
        throw e;
      }
    }
    let result: T;
    try {
      result = await complete(session);
    } catch (e) {
      // WeChat has spent the code: keep its answer for a retry with the same code, then free the claim.
      const keptOk =
        wasKept ||
        (await this.bestEffort(() =>
          this.store.set(keptKey, this.box.seal(JSON.stringify(session), keptKey), CODE_LIFETIME_MS),
        ));
      await this.bestEffort(() => this.store.delete(key));
      if (!keptOk && asAppException(e)?.getStatus() === 503)
        throw new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: e });
      throw e;
    }
    // The login completed: the session is the caller's even if the store cannot record it (WeChat itself
    // would answer 40163 to a replay).
    await this.bestEffort(() => this.store.set(key, USED, CODE_LIFETIME_MS));
    if (wasKept) await this.bestEffort(() => this.store.delete(keptKey));
    return result;
  }

  /** WeChat's answer kept by an earlier request with this code whose login did not complete. */
  private kept<S>(sealed: string | null, keptKey: string): S | undefined {
    if (!sealed) return undefined;
    try {
      return JSON.parse(this.box.open(sealed, keptKey)) as S;
    } catch {
      return undefined;
    }
  }

  private async bestEffort(write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (e) {
      this.logger.warn(
        { error: e instanceof Error ? e.name : 'unknown' },
        'login-code ledger could not record a code outcome',
      );
      return false;
    }
  }
}

/** A final outcome read back from the store, with the Retry-After its first answer had. */
function remembered(code: ErrorCode): AppException {
  return new AppException(code, code === 'WX_RETRY_LOGIN' ? { retryAfter: 1 } : {});
}

/** A concurrent duplicate: the same failure, or WX_CODE_USED when the exchange succeeded for the other request. */
async function follow<T>(running: Promise<unknown>): Promise<T> {
  try {
    await running;
  } catch (e) {
    throw e instanceof AppException
      ? new AppException(e.code, { ...e.extras, status: e.getStatus() }, e.message)
      : e;
  }
  throw new AppException('WX_CODE_USED');
}
