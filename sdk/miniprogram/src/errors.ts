import { headerValue, type WxRequestSuccess } from './wx';

/** Codes the client itself uses when there is no service answer to report. */
export const CLIENT_ERROR_CODES = {
  /** wx.request failed without an HTTP answer (offline, timeout, domain not in the allowlist). */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** wx.login failed. */
  WX_LOGIN_FAILED: 'WX_LOGIN_FAILED',
  /** An HTTP answer that is not the service's error format (a proxy's page, …). */
  HTTP_ERROR: 'HTTP_ERROR',
} as const;

/**
 * Every failure of the client. For a service answer, `code`, `statusCode`, `message` and `requestId` are the
 * service's (switch on `code`); `retryAfter` is `Retry-After` in seconds (429 and 503).
 */
export class AuthError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly requestId?: string;
  readonly retryAfter?: number;
  /** The service's `details` (validation errors). */
  readonly details?: unknown;

  constructor(init: {
    code: string;
    statusCode: number;
    message: string;
    requestId?: string;
    retryAfter?: number;
    details?: unknown;
  }) {
    super(init.message);
    this.name = 'AuthError';
    this.code = init.code;
    this.statusCode = init.statusCode;
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
    this.details = init.details;
  }
}

/**
 * `updateProfile`: WeChat's content check refused the nickname (422 CONTENT_REJECTED); nothing was saved.
 * `label` is WeChat's category (20001 politics, 20002 porn, … 21000 other), when the service sent it.
 */
export class ContentRejectedError extends AuthError {
  readonly label?: number;

  constructor(init: ConstructorParameters<typeof AuthError>[0]) {
    super(init);
    this.name = 'ContentRejectedError';
    const detail = Array.isArray(init.details)
      ? init.details.find((d): d is string => typeof d === 'string' && /^label:\d{1,6}$/.test(d))
      : undefined;
    this.label = detail !== undefined ? Number(detail.slice('label:'.length)) : undefined;
  }
}

export function isAuthError(e: unknown): e is AuthError {
  return e instanceof AuthError;
}

/** The service's error body `{ statusCode, code, message, requestId }` as an AuthError. */
export function errorFromResponse(res: WxRequestSuccess): AuthError {
  const body = (typeof res.data === 'object' && res.data !== null ? res.data : {}) as Record<string, unknown>;
  const retry = headerValue(res.header, 'retry-after');
  const retryAfter = retry !== undefined && /^\d+$/.test(retry.trim()) ? Number(retry.trim()) : undefined;
  const init = {
    code: typeof body.code === 'string' ? body.code : CLIENT_ERROR_CODES.HTTP_ERROR,
    statusCode: res.statusCode,
    message: typeof body.message === 'string' ? body.message : `HTTP ${res.statusCode}`,
    requestId: typeof body.requestId === 'string' ? body.requestId : headerValue(res.header, 'x-request-id'),
    retryAfter,
    details: body.details,
  };
  return init.code === 'CONTENT_REJECTED' ? new ContentRejectedError(init) : new AuthError(init);
}

export function networkError(err: unknown, code: string = CLIENT_ERROR_CODES.NETWORK_ERROR): AuthError {
  const errMsg =
    typeof err === 'object' && err !== null && typeof (err as { errMsg?: unknown }).errMsg === 'string'
      ? (err as { errMsg: string }).errMsg
      : String(err);
  return new AuthError({ code, statusCode: 0, message: errMsg });
}
