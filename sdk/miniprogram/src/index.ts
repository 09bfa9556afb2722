export {
  createAuthClient,
  type AuthClient,
  type AuthClientOptions,
  type AuthResponse,
  type AvatarStatus,
  type DecryptResult,
  type LoginUser,
  type OpenDataPayload,
  type Profile,
  type RequestOptions,
  type SessionCheck,
} from './client';
export { AuthError, CLIENT_ERROR_CODES, ContentRejectedError, isAuthError } from './errors';
export type { StoredSession } from './token-store';
export type { HttpMethod, WxLike, WxLoginOptions, WxRequestOptions, WxRequestSuccess } from './wx';
