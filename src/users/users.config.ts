import { defineSlice, integer } from '../config/config-slice';

export const usersConfig = defineSlice({
  title: 'Users',
  variables: {
    USER_CACHE_TTL_MS: integer({
      default: 1000,
      min: 0,
      max: 10_000,
      unit: 'ms',
      mustBe: 'whole milliseconds',
      description:
        "`GET /users/me` may answer from this instance's copy of the user row for this long (`0`: every read " +
        'goes to the database). A write on the same instance drops the copy at once; a write on another ' +
        "instance shows within this bound. A disabled, re-roled or deleted user's tokens are revoked first, so " +
        'they never see a stale answer',
    }),
  },
  build: (v) => ({ users: { readCacheTtlMs: v.USER_CACHE_TTL_MS } }),
});
