import { SetMetadata } from '@nestjs/common';

/** Roles a user can hold. `user` is everyone's; `admin` opens /admin. */
export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const REQUIRED_ROLES = 'auth:roles';

/** The caller must hold one of these roles (checked by RolesGuard after the access token). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ROLES, roles);
