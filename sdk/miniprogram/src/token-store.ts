import type { WxLike } from './wx';

/**
 * What is kept in storage: our token pair and when it runs out, nothing else. Never the user's profile,
 * never a login code, and never a session_key or an AppSecret (the service keeps those; the client never
 * sees them).
 */
export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch, by the client's clock, when the access token expires. */
  expiresAt: number;
  /** ms since the epoch when the client refreshes ahead of expiry (on the next request, never by timer). */
  refreshAt: number;
  /** ms since the epoch when the refresh token expires. */
  refreshExpiresAt: number;
}

/** The token-pair answer of `/auth/wechat/login` and `/auth/refresh`. */
export interface TokenPair {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

export function isTokenPair(v: unknown): v is TokenPair {
  const p = v as Partial<TokenPair> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.accessToken === 'string' &&
    typeof p.refreshToken === 'string' &&
    typeof p.expiresIn === 'number' &&
    typeof p.refreshExpiresIn === 'number'
  );
}

/** Reads and writes the pair; storage failures (quota, a missing API) fall back to memory. */
export class TokenStore {
  private cached: StoredSession | null | undefined;

  constructor(
    private readonly wx: WxLike,
    private readonly key: string,
  ) {}

  get(): StoredSession | null {
    if (this.cached === undefined) this.cached = this.read();
    return this.cached;
  }

  set(session: StoredSession): void {
    this.cached = session;
    const value: StoredSession = {
      accessToken: session.accessToken,
      refreshToken: session.refreshToken,
      expiresAt: session.expiresAt,
      refreshAt: session.refreshAt,
      refreshExpiresAt: session.refreshExpiresAt,
    };
    try {
      this.wx.setStorageSync(this.key, value);
    } catch {
      // Kept in memory for this run; the next launch logs in again.
    }
  }

  clear(): void {
    this.cached = null;
    try {
      this.wx.removeStorageSync(this.key);
    } catch {
      // Nothing stored, or storage unavailable: the memory copy is gone either way.
    }
  }

  private read(): StoredSession | null {
    let v: unknown;
    try {
      v = this.wx.getStorageSync(this.key);
    } catch {
      return null;
    }
    // Also accepts a JSON string, for storage shims that only keep strings.
    if (typeof v === 'string' && v !== '') {
      try {
        v = JSON.parse(v);
      } catch {
        return null;
      }
    }
    const s = v as Partial<StoredSession> | null;
    if (
      typeof s === 'object' &&
      s !== null &&
      typeof s.accessToken === 'string' &&
      typeof s.refreshToken === 'string' &&
      typeof s.expiresAt === 'number' &&
      typeof s.refreshAt === 'number' &&
      typeof s.refreshExpiresAt === 'number'
    )
      return {
        accessToken: s.accessToken,
        refreshToken: s.refreshToken,
        expiresAt: s.expiresAt,
        refreshAt: s.refreshAt,
        refreshExpiresAt: s.refreshExpiresAt,
      };
    return null;
  }
}
