import { AppException } from '../common/errors/app.exception';
import type { User } from './user.entity';

/**
 * The one rule for whether a user may act (log in, refresh, call a route that reads their account):
 * a user that no longer exists (deleted, merged away) is an invalid credential (401); a disabled one is
 * 403 USER_DISABLED. Every path that checks a user's state calls this.
 */
export function assertMayAct(user: User | null | undefined): asserts user is User {
  if (!user) throw userGone();
  if (user.status !== 'active') throw new AppException('USER_DISABLED');
}

/** A token can outlive its user (deleted or merged away): treat it as no longer valid. */
export function userGone(): AppException {
  return new AppException('UNAUTHORIZED', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });
}
