/** Seconds since the epoch, as JWT times are. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** JSON, base64url-encoded: a JWS header or payload. */
export const b64urlJson = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Exactly the claims our access tokens carry, for `sub`, living 10 minutes from now; `extra` overrides. */
export function accessClaims(sub: string, jti: string, extra: Record<string, unknown> = {}) {
  return {
    sub,
    appid: 'wxapp_one',
    roles: ['user'],
    sid: '00000000-0000-4000-8000-000000000000',
    iss: 'wechat-auth',
    aud: 'miniprogram',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    jti,
    ...extra,
  };
}
