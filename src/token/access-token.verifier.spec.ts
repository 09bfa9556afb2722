import type { FastifyRequest } from 'fastify';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { AppException } from '../common/errors/app.exception';
import { AccessTokenService, invalidToken } from './access-token.service';
import { AccessTokenVerifier } from './access-token.verifier';
import type { RevocationService } from './revocation/revocation.service';

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

const requestWith = (headers: Record<string, unknown>, query: Record<string, unknown> = {}) =>
  ({ headers, query }) as unknown as FastifyRequest;

describe('AccessTokenVerifier', () => {
  let verify: jest.Mock<Promise<AuthPrincipal>, [string]>;
  let isRevoked: jest.Mock<boolean, [AuthPrincipal]>;
  let verifier: AccessTokenVerifier;

  beforeEach(() => {
    verify = jest.fn((token: string) =>
      token === TOKEN ? Promise.resolve(PRINCIPAL_OF_TOKEN) : Promise.reject(invalidToken()),
    );
    isRevoked = jest.fn((_: AuthPrincipal) => false);
    verifier = new AccessTokenVerifier(
      { verify } as unknown as AccessTokenService,
      { isRevoked } as unknown as RevocationService,
    );
  });

  async function expectUnauthorized(request: FastifyRequest): Promise<void> {
    const error = await verifier.verify(request).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).code).toBe('UNAUTHORIZED');
    expect((error as AppException).extras.headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
    });
  }

  it('gives the verified principal of a valid Bearer token', async () => {
    await expect(verifier.verify(requestWith({ authorization: `Bearer ${TOKEN}` }))).resolves.toBe(
      PRINCIPAL_OF_TOKEN,
    );
    expect(verify).toHaveBeenCalledWith(TOKEN);
    expect(isRevoked).toHaveBeenCalledWith(PRINCIPAL_OF_TOKEN);
  });

  it('accepts the scheme in any case', async () => {
    await expect(verifier.verify(requestWith({ authorization: `bearer ${TOKEN}` }))).resolves.toBe(
      PRINCIPAL_OF_TOKEN,
    );
  });

  it('refuses a valid token that is revoked (session, user epoch: RevocationService, in memory)', async () => {
    isRevoked.mockReturnValue(true);
    await expectUnauthorized(requestWith({ authorization: `Bearer ${TOKEN}` }));
  });

  it('refuses a request without an Authorization header, without verifying', async () => {
    await expectUnauthorized(requestWith({}));
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
  ])('refuses a malformed header (%s) without verifying', async (_, authorization) => {
    await expectUnauthorized(requestWith({ authorization }));
    expect(verify).not.toHaveBeenCalled();
  });

  it('refuses a non-string header value', async () => {
    await expectUnauthorized(requestWith({ authorization: [`Bearer ${TOKEN}`] }));
    expect(verify).not.toHaveBeenCalled();
  });

  it('propagates the verifier’s rejection of a well-formed but invalid token', async () => {
    await expectUnauthorized(requestWith({ authorization: 'Bearer aaa.bbb.ccc' }));
    expect(verify).toHaveBeenCalledWith('aaa.bbb.ccc');
  });

  it('never takes the token from the query string', async () => {
    await expectUnauthorized(requestWith({}, { access_token: TOKEN, token: TOKEN }));
    expect(verify).not.toHaveBeenCalled();
  });
});
