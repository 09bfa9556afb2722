import type { FastifyRequest } from 'fastify';
import { AppException } from '../../common/errors/app.exception';
import type { WechatLogin } from './wechat-auth.service';
import { WechatStrategy } from './wechat.strategy';

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
      expect(auth.login).toHaveBeenCalledWith(undefined, '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX', CONTEXT);
    });

    it('passes the appid through', async () => {
      await expect(strategy.validate(requestWith({ appid: 'wxapp_two', code: 'abc' }))).resolves.toBe(LOGIN);
      expect(auth.login).toHaveBeenCalledWith('wxapp_two', 'abc', CONTEXT);
    });

    it.each([
      ['a 1-character code', 'a'],
      ['a 128-character code', 'a'.repeat(128)],
      ['_ and -', 'A_b-9'],
    ])('accepts %s', async (_label, code) => {
      await strategy.validate(requestWith({ code }));
      expect(auth.login).toHaveBeenCalledWith(undefined, code, CONTEXT);
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
