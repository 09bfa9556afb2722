import type { RequestContext } from '../common/request-context';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService, type AuthEventView } from '../audit/audit.service';
import type { Role } from '../common/auth/roles';
import { Clock } from '../common/clock/clock';
import { RevocationService } from '../token/revocation/revocation.service';
import { SessionService } from '../token/sessions/session.service';
import type { User, UserStatus } from '../users/user.entity';
import { UserDirectory, type IdentityView } from '../users/user-directory.service';
import { toIdentityResponse, toSessionResponse } from './dto/admin.dto';

export interface AccountExport {
  exportedAt: string;
  user: {
    id: string;
    nickname: string | null;
    avatarUrl: string | null;
    /** An avatar still waiting for WeChat's content check (personal data too). */
    avatarPendingUrl: string | null;
    phone: string | null;
    phoneCountryCode: string | null;
    roles: string[];
    status: UserStatus;
    createdAt: string;
    updatedAt: string;
    lastLoginAt: string | null;
  };
  identities: Array<
    Omit<IdentityView, 'createdAt' | 'sessionKeyUpdatedAt' | 'riskRankedAt'> & {
      createdAt: string;
      sessionKeyUpdatedAt: string | null;
      riskRankedAt: string | null;
    }
  >;
  sessions: Array<{ id: string; appid: string; lastRefreshedAt: string; expiresAt: string }>;
  events: Array<Record<string, unknown>>;
}

/** Most events exported per account: a year of heavy use; older ones are purged by retention anyway. */
const MAX_EXPORTED_EVENTS = 5000;

/**
 * What happens to an account as a whole — status, roles, sessions, erasure, export — for the user
 * themselves and for admins. Each change is made in the database first, then ends what it must through
 * `SessionService.end` (rows, then the revocation on every instance, then the audit row). A change that
 * is already in place (a retry after a 503) publishes its revocation again, so a retry that answers 2xx
 * (or exit 0 from the CLI) always means the revocation reached every instance.
 */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);

  constructor(
    private readonly directory: UserDirectory,
    private readonly sessions: SessionService,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /** `context` (here and below): the request's id and client IP, for the audit trail (none from the CLI). */
  async setStatus(
    actorId: string,
    userId: string,
    status: UserStatus,
    context?: RequestContext,
  ): Promise<User> {
    const { before, after } = await this.directory.setStatus(userId, status);
    if (before.status === status) {
      // A retry of a change whose revocation could not be published: publish it again.
      if (status === 'disabled') {
        await this.sessions.end({ userId, all: 'revoke' }, 'user_inactive');
        await this.revocations.republishUser(userId);
      }
      return after;
    }
    if (status === 'disabled') {
      // Refresh tokens too: re-enabling does not bring old sessions back.
      await this.sessions.end({ userId, all: 'revoke' }, 'user_disabled', {
        actorId: actorOf(actorId),
        details: { previousStatus: before.status },
        context,
      });
    } else {
      await this.audit.record({
        type: 'user.enabled',
        userId,
        actorId: actorOf(actorId),
        details: { previousStatus: before.status },
        context,
      });
    }
    return after;
  }

  async setRoles(actorId: string, userId: string, roles: Role[], context?: RequestContext): Promise<User> {
    const { before, after } = await this.directory.setRoles(userId, roles);
    if ([...before.roles].sort().join(',') === [...after.roles].sort().join(',')) {
      // A retry of a change whose revocation could not be published: publish it again.
      await this.revocations.republishUser(userId);
      return after;
    }
    // Tokens carry roles: stop the old ones; sessions stay, and the next refresh issues the new roles.
    await this.sessions.end({ userId, all: 'keep' }, 'roles_changed', {
      actorId: actorOf(actorId),
      details: { roles: after.roles.join(','), previousRoles: before.roles.join(',') },
      context,
    });
    return after;
  }

  async revokeSession(
    actorId: string,
    userId: string,
    sessionId: string,
    context?: RequestContext,
  ): Promise<void> {
    await this.directory.get(userId);
    await this.sessions.revoke(userId, sessionId, {
      actorId: actorOf(actorId),
      details: { initiator: 'admin' },
      context,
    });
  }

  /**
   * Erases the account (PIPL): every session and access token dies at once; identities, session_keys,
   * phone, nickname and avatar are deleted; audit rows stay, stripped of personal data.
   */
  async erase(userId: string, actorId: string | null, context?: RequestContext): Promise<void> {
    await this.directory.get(userId);
    // The user row first (a refresh reading it from now on finds nobody), then end(): the session rows, the
    // revocation, the audit row — never the revocation before the rows (see SessionService.end).
    await this.directory.erase(userId);
    try {
      await this.sessions.end({ userId, all: 'delete' }, 'user_deleted', {
        actorId: actorOf(actorId),
        details: { initiator: actorId === userId ? 'self' : 'admin' },
        context,
      });
    } finally {
      // Personal data leaves the audit trail even when the revocation has to be retried.
      await this.audit.forgetUser(userId);
    }
    this.logger.log({ userId, byAdmin: actorId !== null && actorId !== userId }, 'account erased');
  }

  async view(userId: string): Promise<{ user: User; identities: IdentityView[]; sessions: SessionRow[] }> {
    const user = await this.directory.get(userId);
    const [identities, sessions] = await Promise.all([
      this.directory.identitiesOf(userId),
      this.sessions.list(userId),
    ]);
    return { user, identities, sessions };
  }

  /** Everything held about the user, as JSON (the session_key excepted: it is WeChat's secret, not data). */
  async export(userId: string, context?: RequestContext): Promise<AccountExport> {
    const { user, identities, sessions } = await this.view(userId);
    const events: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    do {
      const page = await this.audit.list({ userId }, { limit: 100, cursor });
      events.push(...page.items.map((e) => ownView(e, userId)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && events.length < MAX_EXPORTED_EVENTS);
    await this.audit.record({
      type: 'user.exported',
      userId,
      actorId: userId,
      details: { initiator: 'self' },
      context,
    });
    return {
      exportedAt: this.clock.date().toISOString(),
      user: {
        id: user.id,
        nickname: user.nickname,
        avatarUrl: user.avatarUrl,
        avatarPendingUrl: user.avatarPendingUrl,
        phone: user.phone,
        phoneCountryCode: user.phoneCountryCode,
        roles: user.roles,
        status: user.status,
        createdAt: user.createdAt.toISOString(),
        updatedAt: user.updatedAt.toISOString(),
        lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
      },
      identities: identities.map(toIdentityResponse),
      sessions: sessions.map(toSessionResponse),
      events: events.slice(0, MAX_EXPORTED_EVENTS),
    };
  }
}

type SessionRow = Awaited<ReturnType<SessionService['list']>>[number];

/** The CLI acts as 'cli' (no user id): the audit row's actor column holds user ids only. */
function actorOf(actorId: string | null): string | null {
  return actorId === 'cli' ? null : actorId;
}

/**
 * An event as the user's own export shows it: what an admin did to the account stays (type, time, reason),
 * but not who the admin is, nor their client IP or request id — those are the admin's data, not the user's.
 */
function ownView(e: AuthEventView, userId: string): Record<string, unknown> {
  if (e.actorId === null || e.actorId === userId) return { ...e };
  return { ...e, actorId: null, clientIp: null, requestId: null, initiator: 'admin' };
}
