/** Who is calling, as proven by a verified access token (no database read). */
export interface AuthPrincipal {
  userId: string;
  appid: string;
  roles: string[];
  /** Refresh-token family (login session) the access token was issued for. */
  sessionId: string;
  /** Access token expiry, seconds since the epoch. */
  expiresAt: number;
  /** Access token `iat`, seconds since the epoch. */
  issuedAt: number;
  /** The user's revocation epoch the token was issued under (claim `uv`; 0 when none): see RevocationService. */
  userEpoch: number;
}
