import { SetMetadata } from '@nestjs/common';

export const IS_SERVICE_ROUTE = 'auth:serviceRoute';

/**
 * Marks a server-to-server route: the global JwtAuthGuard lets it through because the route authenticates
 * a service client (HTTP Basic, SERVICE_CLIENTS) with its own guard instead of a user's access token. Use
 * it only through `@ServiceRoute()` (src/oauth/), which adds that guard: alone it would make a route public.
 */
export const MarkServiceRoute = (): MethodDecorator & ClassDecorator => SetMetadata(IS_SERVICE_ROUTE, true);
