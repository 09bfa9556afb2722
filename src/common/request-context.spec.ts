import { Controller, Get, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
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

  it('requestContextOf reads any request-like object (a missing IP is empty)', () => {
    expect(requestContextOf({ id: 42 })).toEqual({ requestId: '42', clientIp: '' });
  });
});
