import type { RequestContext } from '../common/request-context';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Role } from '../common/auth/roles';
import { Clock } from '../common/clock/clock';
import { RevocationService } from '../token/revocation.service';
import { TokenService } from '../token/token.service';
import type { User, UserStatus } from '../users/user.entity';
import { UserDirectory, type IdentityView } from '../users/user-directory.service';
import { maskPhone } from '../users/mask-phone';

export interface AccountExport {
  exportedAt: string;
  user: {
    id: string;
    nickname: string | null;
    avatarUrl: string | null;
    phone: string | null;
    phoneCountryCode: string | null;
    roles: string[];
    status: UserStatus;
    createdAt: string;
    updatedAt: string;
    lastLoginAt: string | null;
  };
  identities: Array<
    Omit<IdentityView, 'createdAt' | 'sessionKeyUpdatedAt'> & {
      createdAt: string;
      sessionKeyUpdatedAt: string | null;
    }
  >;
  sessions: Array<{ id: string; appid: string; lastRefreshedAt: string; expiresAt: string }>;
  events: Array<Record<string, unknown>>;
}

/** Most events exported per account: a year of heavy use; older ones are purged by retention anyway. */
const MAX_EXPORTED_EVENTS = 5000;

/**
 * What happens to an account as a whole — status, roles, sessions, erasure, export — for the user
 * themselves and for admins. Each change that must stop access tokens revokes them on every instance
 * (RevocationService) and is written to the audit trail.
 */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);

  constructor(
    private readonly directory: UserDirectory,
    private readonly tokens: TokenService,
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
    if (before.status === status) return after;
    // Refresh tokens too: re-enabling does not bring old sessions back.
    if (status === 'disabled') await this.tokens.revokeAllSessions(userId);
    await this.audit.record({
      type: status === 'disabled' ? 'user.disabled' : 'user.enabled',
      userId,
      actorId,
      details: { previousStatus: before.status },
      context,
    });
    // Access tokens last: the database work above is done once the status changed (a retry after a 503
    // here finds the status unchanged and stops early), and a revocation the store could not take is
    // applied on this instance at once and pushed to the store once it answers (RevocationService).
    if (status === 'disabled') await this.revocations.revokeUser(userId);
    return after;
  }

  async setRoles(actorId: string, userId: string, roles: Role[], context?: RequestContext): Promise<User> {
    const { before, after } = await this.directory.setRoles(userId, roles);
    if ([...before.roles].sort().join(',') === [...after.roles].sort().join(',')) return after;
    await this.audit.record({
      type: 'user.roles_changed',
      userId,
      actorId,
      details: { roles: after.roles.join(','), previousRoles: before.roles.join(',') },
      context,
    });
    // Tokens carry roles: stop the old ones (last, as in setStatus); the next refresh issues tokens with
    // the new roles.
    await this.revocations.revokeUser(userId);
    return after;
  }

  async revokeSession(
    actorId: string,
    userId: string,
    sessionId: string,
    context?: RequestContext,
  ): Promise<void> {
    await this.directory.get(userId);
    await this.tokens.revokeSession(userId, sessionId);
    await this.audit.record({ type: 'session.revoked', userId, actorId, sessionId, context });
  }

  /**
   * Erases the account (PIPL): every session and access token dies at once; identities, session_keys,
   * phone, nickname and avatar are deleted; audit rows stay, stripped of personal data.
   */
  async erase(userId: string, actorId: string | null, context?: RequestContext): Promise<void> {
    await this.directory.get(userId);
    await this.revocations.revokeUser(userId);
    await this.tokens.deleteAllSessions(userId);
    await this.directory.erase(userId);
    await this.audit.record({
      type: 'user.deleted',
      userId,
      actorId,
      details: { initiator: actorId === userId ? 'self' : 'admin' },
      context,
    });
    await this.audit.forgetUser(userId);
    this.logger.log({ userId, byAdmin: actorId !== null && actorId !== userId }, 'account erased');
  }

  async view(userId: string): Promise<{ user: User; identities: IdentityView[]; sessions: SessionRow[] }> {
    const user = await this.directory.get(userId);
    const [identities, sessions] = await Promise.all([
      this.directory.identitiesOf(userId),
      this.tokens.listSessions(userId),
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
      events.push(...page.items.map((e) => ({ ...e })));
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
        phone: user.phone,
        phoneCountryCode: user.phoneCountryCode,
        roles: user.roles,
        status: user.status,
        createdAt: user.createdAt.toISOString(),
        updatedAt: user.updatedAt.toISOString(),
        lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
      },
      identities: identities.map((i) => ({
        ...i,
        createdAt: i.createdAt.toISOString(),
        sessionKeyUpdatedAt: i.sessionKeyUpdatedAt?.toISOString() ?? null,
      })),
      sessions: sessions.map((s) => ({
        id: s.familyId,
        appid: s.appid,
        lastRefreshedAt: s.createdAt.toISOString(),
        expiresAt: s.expiresAt.toISOString(),
      })),
      events: events.slice(0, MAX_EXPORTED_EVENTS),
    };
  }
}

type SessionRow = Awaited<ReturnType<TokenService['listSessions']>>[number];

/** An admin's view of a user: the phone masked like everywhere else in the API. */
export function adminUserView(user: User): Record<string, unknown> {
  return {
    id: user.id,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    phone: maskPhone(user.phone),
    phoneCountryCode: user.phoneCountryCode,
    roles: user.roles,
    status: user.status,
    createdAt: user.createdAt.toISOString(),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
  };
}
