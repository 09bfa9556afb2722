/**
 * Everything the audit trail records, a closed list: a new kind of event is added here (and to the Swagger
 * enum, which reads this array), never made up at the call site.
 */
export const AUTH_EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'token.refreshed',
  'token.reuse_detected',
  'session.logged_out',
  'session.revoked',
  'sessions.logged_out_all',
  'session.evicted',
  'phone.bound',
  'risk.ranked',
  'risk.blocked',
  'risk.check_failed',
  'profile.content_rejected',
  'users.merged',
  'user.disabled',
  'user.enabled',
  'user.roles_changed',
  'user.deleted',
  'user.exported',
] as const;

export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

export function isAuthEventType(value: unknown): value is AuthEventType {
  return typeof value === 'string' && (AUTH_EVENT_TYPES as readonly string[]).includes(value);
}
