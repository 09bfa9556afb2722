/**
 * Every failure the API can answer with: one stable machine code, its HTTP
 * status and a short message safe to show to a client. Nothing else builds
 * error bodies (see AllExceptionsFilter).
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request body or parameters are invalid.' },
  MALFORMED_REQUEST: { status: 400, message: 'The request could not be parsed.' },
  UNKNOWN_APPID: { status: 400, message: 'This appid is not configured on the server.' },
  UNAUTHORIZED: { status: 401, message: 'A valid access token is required.' },
  WX_CODE_INVALID: {
    status: 401,
    message: 'The login code is invalid or expired; call wx.login again.',
    // Where the code is not the credential (a phone code on a guarded route) it is a bad parameter.
    otherStatuses: [400],
  },
  WX_CODE_USED: { status: 401, message: 'The login code has already been used; call wx.login again.' },
  LINK_TICKET_INVALID: {
    status: 401,
    message: 'The link ticket is invalid, expired or already used; ask for a new one.',
  },
  // Browser login (Official Account H5 / website QR): JSON answers of the authorize, callback and redeem routes.
  RETURN_TO_NOT_ALLOWED: {
    status: 400,
    message: 'returnTo must be an absolute URL under one of the origins in OAUTH_RETURN_ORIGINS.',
  },
  STATE_INVALID: {
    status: 400,
    message:
      'The login state is missing, unknown, expired, already used or not from this browser; start again.',
  },
  TICKET_INVALID: {
    status: 401,
    message: 'The login ticket is invalid, expired or already used; log in again.',
  },
  // Delivered to returnTo as #error=CODE (never as a JSON body): the page decides what to show.
  ACCESS_DENIED: { status: 403, message: 'The user declined the WeChat authorization.' },
  SNAPSHOT_USER: {
    status: 403,
    message: 'A WeChat snapshot-page visitor, not a signed-in user: ask them to open the page in full.',
  },
  REFRESH_TOKEN_INVALID: { status: 401, message: 'The refresh token is invalid, expired or revoked.' },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    message: 'The refresh token was already used; the whole session has been revoked. Log in again.',
  },
  SESSION_STALE: {
    status: 401,
    message: "WeChat's session for this user has changed; call wx.login, log in again and retry.",
  },
  DECRYPT_FAILED: {
    status: 400,
    message: 'The encrypted data could not be decrypted or verified with this session.',
  },
  NO_WECHAT_SESSION: {
    status: 409,
    message: 'There is no WeChat session for this user and app; log in with wx.login first.',
  },
  PHONE_IN_USE: { status: 409, message: 'This phone number is already bound to another account.' },
  IDENTITY_ALREADY_LINKED: {
    status: 409,
    message: 'This WeChat identity already belongs to another account.',
  },
  LAST_IDENTITY: {
    status: 409,
    message: 'This is the last sign-in identity of the account; it cannot be removed.',
  },
  LAST_ADMIN: {
    status: 409,
    message:
      'This is the last active admin: make someone else an admin before demoting, disabling or deleting it.',
  },
  WX_USER_BLOCKED: { status: 403, message: 'WeChat blocked this login as high risk.' },
  // WECHAT_RISK_CHECK=block: WeChat's getuserriskrank rated the person at or above WECHAT_RISK_BLOCK_RANK.
  RISK_BLOCKED: { status: 403, message: 'This account was refused by the risk check.' },
  USER_DISABLED: { status: 403, message: 'This account is disabled.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  CONTENT_REJECTED: {
    status: 422,
    message: "WeChat's content check refused this nickname; nothing was changed.",
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  WX_RATE_LIMITED: {
    status: 429,
    message: "WeChat's quota for this call is reached for now; retry shortly.",
  },
  PHONE_RATE_LIMITED: {
    status: 429,
    message: 'Too many phone number lookups; retry later.',
  },
  CLIENT_AUTH_RATE_LIMITED: {
    status: 429,
    message:
      'Too many failed client logins from this address or for this client id; retry after Retry-After seconds.',
  },
  INTERNAL_ERROR: { status: 500, message: 'Unexpected server error.' },
  WX_UNAVAILABLE: { status: 503, message: 'WeChat is unavailable; retry shortly.' },
  WX_RETRY_LOGIN: {
    status: 503,
    message: 'WeChat may have consumed this code; call wx.login again and retry.',
  },
  WX_MISCONFIGURED: { status: 503, message: 'The WeChat login is misconfigured on the server.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; retry shortly.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is unavailable; retry shortly.' },
  URI_TOO_LONG: { status: 414, message: 'A path segment of the URL is too long.' },
  EXPECTATION_FAILED: { status: 417, message: 'The Expect header is not supported (only 100-continue).' },
  WX_EVENT_REJECTED: {
    status: 401,
    message: "The push's signature, timestamp, nonce or encryption was refused.",
  },
  INVALID_CLIENT: {
    status: 401,
    message: 'Client authentication failed: send the service client id and secret with HTTP Basic.',
  },
} as const satisfies Record<string, { status: number; message: string; otherStatuses?: readonly number[] }>;

export type ErrorCode = keyof typeof ERRORS;
