import { isIP } from 'node:net';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import type { RequestContext } from '../common/request-context';
import { UUID_PATTERN, WECHAT_APPID_PATTERN } from '../common/validation/ids';
import { AppConfig } from '../config/app-config';
import { AUDIT_KEYSET } from './audit-cursor';
import { loggableKey, sanitizeDetails, type AuditDetails } from './audit-details';
import { isAuthEventType, type AuthEventType } from './auth-event-type';
import { AuthEvent } from './auth-event.entity';
import { EventIdFactory } from './event-id';
import { EntitySql, runStatement } from '../database/entity-sql';

export interface AuditEventInput {
  type: AuthEventType;
  userId?: string | null;
  /** The admin who acted (admin routes only). */
  actorId?: string | null;
  appid?: string | null;
  /** The refresh-token family concerned. */
  sessionId?: string | null;
  /** A stable machine code (an ErrorCode such as WX_CODE_INVALID), never a message. */
  reason?: string | null;
  /** Only keys of AUDIT_DETAIL_RULES, each within its rule; anything else is dropped. */
  details?: AuditDetails;
  /** The request the event came from (its id and client IP); absent outside a request (CLI, jobs). */
  context?: RequestContext;
}

/** One event as the admin API shows it. */
export interface AuthEventView {
  id: string;
  /** ISO 8601, UTC, with milliseconds. */
  occurredAt: string;
  type: AuthEventType;
  userId: string | null;
  actorId: string | null;
  appid: string | null;
  sessionId: string | null;
  reason: string | null;
  requestId: string | null;
  clientIp: string | null;
  details: AuditDetails | null;
}

export interface AuthEventFilter {
  userId?: string;
  type?: AuthEventType;
  appid?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive: [from, to) intervals tile without overlap. */
  to?: Date;
}

export interface AuthEventPageRequest {
  /** 1–100, default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AuthEventPage {
  items: AuthEventView[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
const PURGE_BATCH = 500;
const DAY_MS = 86_400_000;

const UUID = UUID_PATTERN;
const APPID = WECHAT_APPID_PATTERN;
const REASON = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * The audit trail: what happened to an account, when, from where. The one writer of `auth_events`.
 *
 * Append-only from the app's side: there is no update; the only changes to existing rows are erasing personal
 * data on account deletion (`forgetUser`) and deleting rows past the retention (`purgeOlderThan`).
 *
 * Nothing secret reaches the table: every column is checked against a strict pattern (ids are UUIDs, reasons
 * are upper-case codes, appids are WeChat appids) and `details` passes an allowlist (audit-details.ts). A value
 * that does not fit is dropped and a warning names the field — never the value.
 */
@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(AuditService.name);
  private readonly ids: EventIdFactory;
  private readonly pending = new Set<Promise<void>>();
  private readonly rowSql: EntitySql<AuthEvent>;

  constructor(
    @InjectRepository(AuthEvent) private readonly events: Repository<AuthEvent>,
    private readonly clock: Clock,
    random: Random,
    private readonly config: AppConfig,
  ) {
    this.ids = new EventIdFactory(random);
    // Every login and refresh writes one row: the statement is written once (EntitySql).
    this.rowSql = new EntitySql(events.manager.connection, AuthEvent);
  }

  /**
   * Records one event, with the request id and client IP of `event.context` (when it came from a request) and the
   * time of the Clock. Never rejects: availability over completeness — a login must not fail because the audit
   * insert did (a full disk, a lock timeout, a database blip). A failure is logged as a warning naming the
   * event type and the error code only, never the event's ids or details — and the request id of its
   * context, to find the request's other lines.
   *
   * Await it (the insert is one short statement) or fire and forget with `void`; `settled()` waits for the
   * writes in flight either way. Call it after the change it reports has committed: it writes outside the
   * caller's transaction, so an event recorded before a rollback would report what did not happen.
   */
  record(event: AuditEventInput): Promise<void> {
    const write = this.write(event).catch((e: unknown) => {
      const type = isAuthEventType(event?.type) ? event.type : 'unknown';
      this.logger.warn(
        requestIdField(event?.context),
        `audit event ${type} not recorded (${errorCode(e)}); the request went on`,
      );
    });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
    return write;
  }

  /** Resolves when every write started so far has finished (tests; shutdown; forgetUser). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Before the database closes (TypeORM closes it in onApplicationShutdown), let the writes in flight land. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.settled();
  }

  /** Newest first; keyset pagination by (occurred_at, id), so pages stay stable while events are appended. */
  async list(filter: AuthEventFilter, page: AuthEventPageRequest = {}): Promise<AuthEventPage> {
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new AppException('VALIDATION_FAILED', {
        details: [`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`],
      });
    }
    for (const [name, date] of [
      ['from', filter.from],
      ['to', filter.to],
    ] as const) {
      if (date !== undefined && !(date instanceof Date && Number.isFinite(date.getTime()))) {
        throw new AppException('VALIDATION_FAILED', { details: [`${name} must be an ISO 8601 date`] });
      }
    }
    const q = this.events.createQueryBuilder('e');
    if (filter.userId !== undefined) q.andWhere('e.userId = :userId', { userId: filter.userId });
    if (filter.type !== undefined) q.andWhere('e.type = :type', { type: filter.type });
    if (filter.appid !== undefined) q.andWhere('e.appid = :appid', { appid: filter.appid });
    if (filter.from !== undefined) q.andWhere('e.occurredAt >= :from', { from: filter.from });
    if (filter.to !== undefined) q.andWhere('e.occurredAt < :to', { to: filter.to });
    const { items, nextCursor } = await AUDIT_KEYSET.page(q, { limit, cursor: page.cursor });
    return { items: items.map(toView), nextCursor };
  }

  /**
   * Deletes the events older than `days` days (AUDIT_RETENTION_DAYS, default 180); returns how many. In
   * batches of 500 by primary key: portable (SQLite has no DELETE … LIMIT) and each statement holds its locks
   * briefly, so the appends of live requests never wait behind a purge of months of rows.
   */
  async purgeOlderThan(days: number = this.config.audit.retentionDays): Promise<number> {
    if (!Number.isInteger(days) || days < 1)
      throw new Error(`retention must be a whole number of days ≥ 1, not ${days}`);
    const cutoff = new Date(this.clock.now() - days * DAY_MS);
    let purged = 0;
    for (;;) {
      const batch = await this.events
        .createQueryBuilder('e')
        .select('e.id', 'id')
        .where('e.occurredAt < :cutoff', { cutoff })
        .orderBy('e.occurredAt', 'ASC')
        .limit(PURGE_BATCH)
        .getRawMany<{ id: string }>();
      if (batch.length === 0) break;
      await this.events.delete(batch.map((r) => r.id));
      purged += batch.length;
      if (batch.length < PURGE_BATCH) break;
    }
    return purged;
  }

  /**
   * Account deletion (PIPL): the user's events stay — the trail of what happened must survive the account —
   * but lose their personal data: the client IP and the details. What remains identifies no one: the user id
   * is a random UUID that resolves to nobody once the user row is gone, and the rest (type, time, appid, a
   * session UUID, a reason code, a request id) is not about the person.
   *
   * Also erases the IP on events where this user acted as an admin (`actor_id`): that IP was theirs. The IP on
   * an admin's action *against* this user is the admin's and is erased with the rest (over-erasure, accepted:
   * the admin stays named in actor_id). Record `user.deleted` before calling this, or its IP would remain.
   */
  async forgetUser(userId: string): Promise<void> {
    await this.settled();
    await this.events.update({ userId }, { clientIp: null, details: null });
    await this.events.update({ actorId: userId }, { clientIp: null });
  }

  private async write(event: AuditEventInput): Promise<void> {
    if (!isAuthEventType(event?.type)) throw new InvalidEvent('type');
    const dropped: string[] = [];
    const checked = (field: string, value: string | null | undefined, pattern: RegExp): string | null => {
      if (value === undefined || value === null) return null;
      if (typeof value === 'string' && pattern.test(value)) return value;
      dropped.push(field);
      return null;
    };
    const context = event.context;
    const details = sanitizeDetails(event.details);
    dropped.push(...details.dropped.map((k) => `details.${loggableKey(k)}`));
    const now = this.clock.now();

    const row: AuthEvent = {
      id: this.ids.next(now),
      occurredAt: new Date(now),
      type: event.type,
      userId: checked('userId', event.userId, UUID),
      actorId: checked('actorId', event.actorId, UUID),
      appid: checked('appid', event.appid, APPID),
      sessionId: checked('sessionId', event.sessionId, UUID),
      reason: checked('reason', event.reason, REASON),
      // Only an id we minted (a UUID): a client may send any 8–64 characters as X-Request-Id — its refresh
      // token, its phone number, another request's id — and audit rows outlive account deletion.
      requestId: context?.requestIdMinted === true && UUID.test(context.requestId) ? context.requestId : null,
      clientIp: context && isIP(context.clientIp) !== 0 ? context.clientIp : null,
      details: details.json,
    };
    if (dropped.length > 0) {
      // A programming error at the call site; the event is still worth keeping without the offending fields.
      this.logger.warn(
        requestIdField(context),
        `audit event ${event.type}: dropped ${dropped.join(', ')} (not allowed or malformed)`,
      );
    }
    const { sql, params } = this.rowSql.insert(row);
    await runStatement(this.events.manager.connection, sql, params);
  }
}

class InvalidEvent extends Error {
  constructor(readonly field: string) {
    super(`invalid ${field}`);
  }
}

/** The log field that ties a line to its request (the id only: the client IP is for the audit rows). */
function requestIdField(context: RequestContext | undefined): { requestId?: string } {
  return context ? { requestId: context.requestId } : {};
}

/** What a warning may say about a failure: a code, never a message (drivers echo values into messages). */
function errorCode(e: unknown): string {
  if (e instanceof InvalidEvent) return `invalid ${e.field}`;
  if (e instanceof QueryFailedError) {
    const code = (e.driverError as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : 'QueryFailedError';
  }
  return e instanceof Error ? e.name : 'unknown error';
}

function toView(e: AuthEvent): AuthEventView {
  return {
    id: e.id,
    occurredAt: e.occurredAt.toISOString(),
    type: e.type,
    userId: e.userId,
    actorId: e.actorId,
    appid: e.appid,
    sessionId: e.sessionId,
    reason: e.reason,
    requestId: e.requestId,
    clientIp: e.clientIp,
    details: parseDetails(e.details),
  };
}

function parseDetails(json: string | null): AuditDetails | null {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as AuditDetails)
      : null;
  } catch {
    return null;
  }
}
