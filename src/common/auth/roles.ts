/** Roles a user can hold. `user` is everyone's; `admin` opens /admin (`@Access({ user: { roles: ['admin'] } })`). */
export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];
