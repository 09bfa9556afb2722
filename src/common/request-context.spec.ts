import { Controller, Get, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { genRequestId } from './http/request-id';
import { ReqContext, requestContextOf, type RequestContext } from './request-context';

@Controller()
class ProbeController {
  @Get('probe')
  get(@ReqContext() context: RequestContext): RequestContext {
    return context;
  }

  @Post('probe')
  post(@ReqContext() context: RequestContext): RequestContext {
    return context;
  }
}

describe('request context (explicit, @ReqContext())', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ProbeController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter({
        trustProxy: '127.0.0.1',
        genReqId: (req: { headers: Record<string, unknown> }) =>
          String(req.headers['x-request-id'] ?? 'none'),
      }),
      { logger: false },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  const probe = async (method: 'GET' | 'POST', headers: Record<string, string>, remoteAddress: string) =>
    (
      await app.inject({
        method,
        url: '/probe',
        headers,
        remoteAddress,
        ...(method === 'POST' ? { payload: { a: 1 } } : {}),
      })
    ).json<RequestContext>();

  it("hands the handler the request's id and client IP (GET and POST with a body)", async () => {
    for (const method of ['GET', 'POST'] as const)
      await expect(probe(method, { 'x-request-id': 'req-00000001' }, '203.0.113.9')).resolves.toEqual({
        requestId: 'req-00000001',
        clientIp: '203.0.113.9',
      });
  });

  it('takes the client IP from X-Forwarded-For only as far as trustProxy allows', async () => {
    const forwarded = { 'x-request-id': 'req-00000002', 'x-forwarded-for': '198.51.100.7' };
    await expect(probe('GET', forwarded, '127.0.0.1')).resolves.toMatchObject({ clientIp: '198.51.100.7' });
    await expect(probe('GET', forwarded, '203.0.113.9')).resolves.toMatchObject({ clientIp: '203.0.113.9' });
  });

  it('marks an id minted here, never one the client sent (only minted ids go into audit rows)', () => {
    const mintedRaw = { headers: {} };
    const mintedId = genRequestId(mintedRaw);
    expect(requestContextOf({ id: mintedId, ip: '203.0.113.9', raw: mintedRaw })).toEqual({
      requestId: mintedId,
      clientIp: '203.0.113.9',
      requestIdMinted: true,
    });
    for (const chosen of ['req-00000003', '2d7a5b9c-3e4f-4a71-8cbd-2e3f4a5b6c7d']) {
      const raw = { headers: { 'x-request-id': chosen } };
      expect(requestContextOf({ id: genRequestId(raw), ip: '203.0.113.9', raw })).toEqual({
        requestId: chosen,
        clientIp: '203.0.113.9',
      });
    }
    // An unsafe id is replaced by a minted one.
    const unsafe = { headers: { 'x-request-id': 'a b\nc' } };
    expect(requestContextOf({ id: genRequestId(unsafe), raw: unsafe }).requestIdMinted).toBe(true);
  });

  it('requestContextOf reads any request-like object (a missing IP is empty)', () => {
    expect(requestContextOf({ id: 42 })).toEqual({ requestId: '42', clientIp: '' });
  });
});
