import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
import { AppException } from '../../common/errors/app.exception';
import type { WechatLogin } from './wechat-auth.service';
import { WechatLoginGuard, WechatStrategy } from './wechat.strategy';

const LOGIN = { user: { id: 'user-1' }, appid: 'wxapp_one', isNew: true } as unknown as WechatLogin;

const CONTEXT = { requestId: 'req-00000001', clientIp: '203.0.113.5' };

function requestWith(body: unknown): FastifyRequest {
  return { body, id: CONTEXT.requestId, ip: CONTEXT.clientIp } as unknown as FastifyRequest;
}

describe('WechatStrategy.validate', () => {
  let auth: { login: jest.Mock<Promise<WechatLogin>, [string | undefined, string]> };
  let strategy: WechatStrategy;

  beforeEach(() => {
    auth = { login: jest.fn().mockResolvedValue(LOGIN) };
    strategy = new WechatStrategy(auth as never);
  });

  async function validationErrorFor(body: unknown): Promise<AppException> {
    const error = await strategy.validate(requestWith(body)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppException);
    return error as AppException;
  }

  describe('valid bodies', () => {
    it('logs in with the code and no appid (the service picks the default app)', async () => {
      await expect(
        strategy.validate(requestWith({ code: '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX' })),
      ).resolves.toBe(LOGIN);
      expect(auth.login).toHaveBeenCalledTimes(1);
      expect(auth.login).toHaveBeenCalledWith(
        undefined,
        '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
        CONTEXT,
        undefined,
      );
    });

    it('passes the appid through', async () => {
      await expect(strategy.validate(requestWith({ appid: 'wxapp_two', code: 'abc' }))).resolves.toBe(LOGIN);
      expect(auth.login).toHaveBeenCalledWith('wxapp_two', 'abc', CONTEXT, undefined);
    });

    it('passes a link ticket through', async () => {
      const linkTicket = 'T'.repeat(43);
      await expect(strategy.validate(requestWith({ code: 'abc', linkTicket }))).resolves.toBe(LOGIN);
      expect(auth.login).toHaveBeenCalledWith(undefined, 'abc', CONTEXT, linkTicket);
    });

    it.each([
      ['a 1-character code', 'a'],
      ['a 128-character code', 'a'.repeat(128)],
      ['_ and -', 'A_b-9'],
    ])('accepts %s', async (_label, code) => {
      await strategy.validate(requestWith({ code }));
      expect(auth.login).toHaveBeenCalledWith(undefined, code, CONTEXT, undefined);
    });

    it("propagates the service's error unchanged", async () => {
      const failure = new AppException('WX_CODE_USED');
      auth.login.mockRejectedValue(failure);

      await expect(strategy.validate(requestWith({ code: 'abc' }))).rejects.toBe(failure);
    });
  });

  describe('invalid bodies → VALIDATION_FAILED without calling WeChat', () => {
    it.each<[string, unknown]>([
      ['an unknown field', { code: 'abc', extra: 1 }],
      ['an unknown field holding the session key', { code: 'abc', session_key: 'k' }],
      ['a missing code', {}],
      ['only an appid', { appid: 'wxapp_one' }],
      ['an empty code', { code: '' }],
      ['a code of 129 characters', { code: 'a'.repeat(129) }],
      ['a code with a space', { code: 'abc def' }],
      ['a code with base64 characters', { code: 'abc+/=' }],
      ['a code with a trailing newline', { code: 'abc\n' }],
      ['a code with non-ASCII letters', { code: 'cöde' }],
      ['a numeric code', { code: 12345 }],
      ['a code array', { code: ['abc'] }],
      ['a code object', { code: { $ne: '' } }],
      ['a null code', { code: null }],
      ['an empty appid', { code: 'abc', appid: '' }],
      ['an appid of 65 characters', { code: 'abc', appid: 'w'.repeat(65) }],
      ['an appid with bad characters', { code: 'abc', appid: 'wx../etc' }],
      ['a numeric appid', { code: 'abc', appid: 42 }],
      ['a string body', 'code=abc'],
      ['a number body', 42],
      ['a null body', null],
      ['an array body', [{ code: 'abc' }]],
      ['an undefined body', undefined],
    ])('%s', async (_label, body) => {
      const error = await validationErrorFor(body);

      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.getStatus()).toBe(400);
      expect(auth.login).not.toHaveBeenCalled();
    });

    it('explains the problem without echoing the submitted value', async () => {
      const badCode = 'secret code with spaces';

      const error = await validationErrorFor({ code: badCode });

      expect(error.extras.details).toEqual([expect.stringContaining('code')]);
      expect(JSON.stringify(error.extras.details)).not.toContain(badCode);
    });

    it('names the unknown field', async () => {
      const error = await validationErrorFor({ code: 'abc', extra: 1 });

      expect(JSON.stringify(error.extras.details)).toContain('extra');
    });
  });
});

describe('WechatLoginGuard and the strategy’s own Passport', () => {
  const loginOf = (id: string) =>
    ({ user: { id }, appid: 'wxapp_one', isNew: false }) as unknown as WechatLogin;
  const contextFor = (request: object) =>
    ({
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
    }) as unknown as ExecutionContext;

  it('registers each strategy on a Passport of its own, never on the process-wide one', () => {
    const a = new WechatStrategy({ login: jest.fn() } as never);
    const b = new WechatStrategy({ login: jest.fn() } as never);
    expect(a.getPassportInstance()).not.toBe(b.getPassportInstance());
    expect(a.getPassportInstance()).not.toBe(passport);
    // passport's private registry: what AuthGuard('wechat') would have looked up.
    const registry = (p: object) => (p as unknown as { _strategies: Record<string, unknown> })._strategies;
    expect(registry(a.getPassportInstance()).wechat).toBe(a);
    expect(registry(b.getPassportInstance()).wechat).toBe(b);
    expect(registry(passport).wechat).toBeUndefined();
  });

  it('two apps in one process: each guard logs in with its own app’s service, whichever started last', async () => {
    const services = ['a', 'b'].map((name) => ({ login: jest.fn().mockResolvedValue(loginOf(name)) }));
    const guards = services.map((s) => new WechatLoginGuard(new WechatStrategy(s as never)));
    for (const [i, guard] of guards.entries()) {
      const request: Record<string, unknown> = { body: { code: 'abc' }, id: 'req-1', ip: '203.0.113.5' };
      await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
      expect(request.user).toEqual(loginOf(['a', 'b'][i]));
    }
    expect(services.map((s) => s.login.mock.calls.length)).toEqual([1, 1]);
  });

  it('propagates the strategy’s error unchanged (a bad body, a WeChat refusal) and sets no user', async () => {
    const failure = new AppException('WX_CODE_USED');
    const guard = new WechatLoginGuard(
      new WechatStrategy({ login: jest.fn().mockRejectedValue(failure) } as never),
    );
    const request: Record<string, unknown> = { body: { code: 'abc' }, id: 'req-1', ip: '203.0.113.5' };
    await expect(guard.canActivate(contextFor(request))).rejects.toBe(failure);
    expect(request.user).toBeUndefined();
    const invalid: Record<string, unknown> = { body: { code: '' }, id: 'req-2', ip: '203.0.113.5' };
    await expect(guard.canActivate(contextFor(invalid))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
