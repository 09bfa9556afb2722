import { createHash } from 'node:crypto';

/** A wx.login() code is valid 5 minutes: state about a code is kept that long. */
export const CODE_LIFETIME_MS = 5 * 60 * 1000;

/** Store keys name a code by this hash, never by the code itself. */
export function loginCodeHash(appid: string, code: string): string {
  return createHash('sha256').update(`${appid}\n${code}`).digest('hex');
}

/** A short, non-reversible tag for a login code, for correlating logs without logging the code. */
export function codeTag(code: string): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 12);
}
