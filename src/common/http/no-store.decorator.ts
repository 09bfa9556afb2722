import { applyDecorators, Header } from '@nestjs/common';

/** For answers with tokens or personal data: no cache (browser, proxy, CDN) may keep them. */
export const NoStore = (): MethodDecorator => applyDecorators(Header('Cache-Control', 'no-store'));

/** The same, documented on a 2xx response in OpenAPI. */
export const NO_STORE_HEADERS = {
  'Cache-Control': {
    description: 'Always `no-store`.',
    schema: { type: 'string' as const, example: 'no-store' },
  },
};
