import { applyDecorators, Header, type Type } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';

/** For answers with tokens or personal data: no cache (browser, proxy, CDN) may keep them. */
export const NoStore = (): MethodDecorator => applyDecorators(Header('Cache-Control', 'no-store'));

/** The same, documented on a 2xx response in OpenAPI. */
export const NO_STORE_HEADERS = {
  'Cache-Control': {
    description: 'Always `no-store`.',
    schema: { type: 'string' as const, example: 'no-store' },
  },
};

/** `NoStore` on a route answering 200, and that answer in OpenAPI: `type` (an array with `isArray`), the header shown. */
export const NoStoreOk = (
  type: Type<unknown> | [Type<unknown>],
  options: { isArray?: boolean } = {},
): MethodDecorator =>
  applyDecorators(NoStore(), ApiOkResponse({ type, ...options, headers: NO_STORE_HEADERS }));
