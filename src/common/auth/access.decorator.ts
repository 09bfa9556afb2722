import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors } from '../errors/api-errors.decorator';
import type { Role } from './roles';

/** Who may call a route. Exactly one key. */
export type AccessPolicy =
  /** Anyone, no credentials (login, refresh, health, the JWKS). */
  | { public: true }
  /** A user's access token (`Authorization: Bearer …`); with `roles`, holding one of them (403 otherwise). */
  | { user: { roles?: readonly Role[] } }
  /**
   * A partner back-end (SERVICE_CLIENTS) with HTTP Basic instead of a user's token; `wechatToken: true` also
   * requires the client in WECHAT_TOKEN_CLIENTS (403 otherwise).
   */
  | { service: { wechatToken?: boolean } };

/** A policy as the guard reads it. */
export type ResolvedAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'user'; readonly roles: readonly Role[] }
  | { readonly kind: 'service'; readonly wechatToken: boolean };

export const ACCESS = 'auth:access';

/** Names of the security schemes in the OpenAPI document (declared in app.setup.ts). */
export const BEARER_SCHEME = 'bearer';
export const SERVICE_CLIENT_SCHEME = 'serviceClient';

/** No @Access anywhere on a route: a user's access token. Secure by default. */
export const DEFAULT_ACCESS: ResolvedAccess = Object.freeze({ kind: 'user', roles: Object.freeze([]) });

function normalize(policy: AccessPolicy): ResolvedAccess {
  const keys = Object.keys(policy);
  if (keys.length !== 1)
    throw new Error(`@Access takes exactly one of public, user, service (got ${keys.join(', ')})`);
  if ('public' in policy) {
    if (policy.public !== true) throw new Error('@Access({ public }) must be `public: true`');
    return Object.freeze({ kind: 'public' });
  }
  if ('user' in policy)
    return Object.freeze({ kind: 'user', roles: Object.freeze([...(policy.user.roles ?? [])]) });
  if ('service' in policy)
    return Object.freeze({ kind: 'service', wechatToken: policy.service.wechatToken === true });
  throw new Error(`@Access: unknown policy ${keys[0]}`);
}

/** The answers the guard gives for a policy, for the contract. */
function documentation(access: ResolvedAccess): Array<MethodDecorator & ClassDecorator> {
  switch (access.kind) {
    case 'public':
      // `security: []` cannot be said with a decorator: buildOpenApiDocument writes it (accessSecurity below).
      return [];
    case 'user':
      return [
        ApiBearerAuth(BEARER_SCHEME),
        access.roles.length ? ApiErrors('UNAUTHORIZED', 'FORBIDDEN') : ApiErrors('UNAUTHORIZED'),
      ];
    case 'service':
      return [
        ApiSecurity(SERVICE_CLIENT_SCHEME),
        ApiErrors(
          'INVALID_CLIENT',
          ...(access.wechatToken ? (['FORBIDDEN'] as const) : []),
          'RATE_LIMITED',
          'CLIENT_AUTH_RATE_LIMITED',
        ),
      ];
  }
}

/**
 * A route's (or a controller's) access policy and its OpenAPI documentation in one decorator, so they
 * cannot drift: the one global guard (AccessGuard) enforces what this declares, and the contract shows
 * the matching security requirement and 401/403/429 answers. Declare it once per route — on the
 * controller or on the handler, never both (refused: an override would hide which one applies).
 */
export function Access(policy: AccessPolicy): MethodDecorator & ClassDecorator {
  const access = normalize(policy);
  return applyDecorators(SetMetadata(ACCESS, access), ...documentation(access));
}

/** A controller class and one of its handler functions (as ExecutionContext gives them). */
type ControllerClass = object;
type Handler = object;
const nameOf = (f: object) => (f as { name?: string }).name ?? '?';

const resolved = new WeakMap<ControllerClass, Map<Handler, ResolvedAccess>>();

/**
 * The policy of a route, read from its metadata once per (controller, handler) and then from memory: the
 * guard runs on every request, so no reflection per call. Keyed by the class too, since a handler
 * inherited by two controllers can sit under two different class-level policies.
 */
export function accessOf(cls: ControllerClass, handler: Handler): ResolvedAccess {
  let byHandler = resolved.get(cls);
  if (!byHandler) resolved.set(cls, (byHandler = new Map()));
  let access = byHandler.get(handler);
  if (!access) {
    access = resolve(cls, handler);
    byHandler.set(handler, access);
  }
  return access;
}

function resolve(cls: ControllerClass, handler: Handler): ResolvedAccess {
  const onHandler = Reflect.getMetadata(ACCESS, handler) as ResolvedAccess | undefined;
  const onClass = Reflect.getMetadata(ACCESS, cls) as ResolvedAccess | undefined;
  if (onHandler && onClass)
    throw new Error(
      `${nameOf(cls)}.${nameOf(handler)}: @Access on both the controller and the handler; declare it once`,
    );
  return onHandler ?? onClass ?? DEFAULT_ACCESS;
}

/** The OpenAPI `security` of an operation under this policy. */
export function accessSecurity(access: ResolvedAccess): Array<Record<string, string[]>> {
  switch (access.kind) {
    case 'public':
      return [];
    case 'user':
      return [{ [BEARER_SCHEME]: [] }];
    case 'service':
      return [{ [SERVICE_CLIENT_SCHEME]: [] }];
  }
}
