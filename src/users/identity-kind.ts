/**
 * Which WeChat door an identity came through. One person has one openid per appid, and one unionid across
 * every app of one Open Platform account, whatever the door:
 * - `miniprogram`: a mini program's wx.login code (jscode2session);
 * - `oa`: an Official Account's web OAuth (H5 pages opened inside WeChat);
 * - `web`: an Open Platform website app (scan-to-log-in QR);
 * - `app`: an Open Platform mobile app (the WeChat SDK's "Log in with WeChat").
 */
export const IDENTITY_KINDS = ['miniprogram', 'oa', 'web', 'app'] as const;

export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export function isIdentityKind(value: unknown): value is IdentityKind {
  return typeof value === 'string' && (IDENTITY_KINDS as readonly string[]).includes(value);
}

/**
 * What every door hands to sign-in after WeChat answered: one normalized identity. `sessionKey` only from a
 * mini program (absent: a stored key is left as it is); `profile` only from doors that return one
 * (snsapi_userinfo, snsapi_login) and is used only to fill a new user's empty fields.
 */
export interface ChannelIdentity {
  kind: IdentityKind;
  appid: string;
  openid: string;
  unionid?: string;
  sessionKey?: string;
  profile?: { nickname?: string; avatarUrl?: string };
}
