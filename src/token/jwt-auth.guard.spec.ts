import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { PRINCIPAL } from '../common/auth/current-user.decorator';
import { Public } from '../common/auth/public.decorator';
import { AppException } from '../common/errors/app.exception';
import { AccessTokenService, invalidToken } from './access-token.service';
import { FakeClock } from '../common/clock/fake-clock';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import { testConfig } from '../testing/test-config';
import { JwtAuthGuard } from './jwt-auth.guard';
import { RevocationService } from './revocation.service';

class GuardedController {
  guarded(): void {}

  @Public()
  open(): void {}
}

@Public()
class PublicController {
  anything(): void {}
}

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl';
const PRINCIPAL_OF_TOKEN: AuthPrincipal = {
  userId: 'user-1',
  appid: 'wxapp',
  roles: ['user'],
  sessionId: 'family-1',
  expiresAt: 1_767_226_500,
  issuedAt: 1_767_225_600,
  userEpoch: 0,
};

type FakeRequest = { headers: Record<string, unknown>; query?: Record<string, unknown> } & Record<
  string,
  unknown
>;

function contextFor(request: FakeRequest, cls: new () => object, handler: () => void): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

function guardedContext(request: FakeRequest): ExecutionContext {
  return contextFor(request, GuardedController, GuardedController.prototype.guarded);
}

describe('JwtAuthGuard', () => {
  let verify: jest.Mock<Promise<AuthPrincipal>, [string]>;
  let guard: JwtAuthGuard;
  let revocations: RevocationService;
  let clock: FakeClock;

  beforeEach(async () => {
    verify = jest.fn((token: string) =>
      token === TOKEN ? Promise.resolve(PRINCIPAL_OF_TOKEN) : Promise.reject(invalidToken()),
    );
    // Just after the token was issued.
    clock = new FakeClock(PRINCIPAL_OF_TOKEN.issuedAt * 1000 + 500);
    revocations = new RevocationService(new MemoryKvStore(clock), clock, testConfig());
    await revocations.onModuleInit();
    guard = new JwtAuthGuard(new Reflector(), { verify } as unknown as AccessTokenService, revocations);
  });

  describe('revocation (no database read)', () => {
    it('refuses a valid token of a revoked session', async () => {
      await revocations.revokeSession('family-1');
      await expectUnauthorized({ headers: { authorization: `Bearer ${TOKEN}` } });
    });

    it("refuses a valid token issued before its user's revocation, not one of another session or user", async () => {
      await revocations.revokeSession('family-2');
      await revocations.revokeUser('user-2');
      await expect(
        guard.canActivate(guardedContext({ headers: { authorization: `Bearer ${TOKEN}` } })),
      ).resolves.toBe(true);
      await revocations.revokeUser('user-1');
      await expectUnauthorized({ headers: { authorization: `Bearer ${TOKEN}` } });
    });
  });

  async function expectUnauthorized(request: FakeRequest): Promise<void> {
    const error = await guard.canActivate(guardedContext(request)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).code).toBe('UNAUTHORIZED');
    expect((error as AppException).extras.headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    expect(request[PRINCIPAL]).toBeUndefined();
  }

  it('lets a @Public() handler through without a header or a verify call', async () => {
    const request: FakeRequest = { headers: {} };
    await expect(
      guard.canActivate(contextFor(request, GuardedController, GuardedController.prototype.open)),
    ).resolves.toBe(true);
    expect(verify).not.toHaveBeenCalled();
    expect(request[PRINCIPAL]).toBeUndefined();
  });

  it('lets every handler of a @Public() controller through', async () => {
    const ctx = contextFor({ headers: {} }, PublicController, PublicController.prototype.anything);
    await expect(guard.canActivate(ctx)).resolves.toBe(true);
    expect(verify).not.toHaveBeenCalled();
  });

  it('rejects a guarded route without an Authorization header', async () => {
    await expectUnauthorized({ headers: {} });
    expect(verify).not.toHaveBeenCalled();
  });

  it.each([
    ['another scheme', `Basic ${TOKEN}`],
    ['the bare token', TOKEN],
    ['no token', 'Bearer '],
    ['no space', `Bearer${TOKEN}`],
    ['two segments', 'Bearer abc.def'],
    ['four segments', `Bearer ${TOKEN}.x`],
    ['trailing text', `Bearer ${TOKEN} extra`],
    ['characters outside base64url', 'Bearer ab+c.d/ef.g=h'],
  ])('rejects a malformed header (%s) without verifying', async (_, authorization) => {
    await expectUnauthorized({ headers: { authorization } });
    expect(verify).not.toHaveBeenCalled();
  });

  it('rejects a non-string header value', async () => {
    await expectUnauthorized({ headers: { authorization: [`Bearer ${TOKEN}`] } });
    expect(verify).not.toHaveBeenCalled();
  });

  it('sets the verified principal on the request for a valid Bearer token', async () => {
    const request: FakeRequest = { headers: { authorization: `Bearer ${TOKEN}` } };
    await expect(guard.canActivate(guardedContext(request))).resolves.toBe(true);
    expect(verify).toHaveBeenCalledWith(TOKEN);
    expect(request[PRINCIPAL]).toBe(PRINCIPAL_OF_TOKEN);
  });

  it('accepts the scheme in any case', async () => {
    const request: FakeRequest = { headers: { authorization: `bearer ${TOKEN}` } };
    await expect(guard.canActivate(guardedContext(request))).resolves.toBe(true);
    expect(request[PRINCIPAL]).toBe(PRINCIPAL_OF_TOKEN);
  });

  it('propagates the verifier’s rejection of a well-formed but invalid token', async () => {
    await expectUnauthorized({ headers: { authorization: 'Bearer aaa.bbb.ccc' } });
    expect(verify).toHaveBeenCalledWith('aaa.bbb.ccc');
  });

  it('never takes the token from the query string', async () => {
    await expectUnauthorized({ headers: {}, query: { access_token: TOKEN, token: TOKEN } });
    expect(verify).not.toHaveBeenCalled();
  });
});
