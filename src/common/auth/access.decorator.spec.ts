// @nestjs/swagger's metadata key for @ApiResponse (its package exports do not expose the constants module).
const API_RESPONSE = 'swagger/apiResponse';
import {
  Access,
  ACCESS,
  accessOf,
  accessSecurity,
  DEFAULT_ACCESS,
  type AccessPolicy,
} from './access.decorator';

class Undeclared {
  handler(): void {}
}

@Access({ user: { roles: ['admin'] } })
class AdminOnly {
  any(): void {}
}

class PerHandler {
  @Access({ public: true })
  open(): void {}
  @Access({ service: { wechatToken: true } })
  partner(): void {}
  @Access({ user: {} })
  user(): void {}
}

describe('@Access and accessOf()', () => {
  it('no metadata anywhere is a user’s token, without roles (secure by default)', () => {
    expect(accessOf(Undeclared, Undeclared.prototype.handler)).toBe(DEFAULT_ACCESS);
    expect(DEFAULT_ACCESS).toEqual({ kind: 'user', roles: [] });
  });

  it('reads the policy from the controller or from the handler', () => {
    expect(accessOf(AdminOnly, AdminOnly.prototype.any)).toEqual({ kind: 'user', roles: ['admin'] });
    expect(accessOf(PerHandler, PerHandler.prototype.open)).toEqual({ kind: 'public' });
    expect(accessOf(PerHandler, PerHandler.prototype.partner)).toEqual({
      kind: 'service',
      wechatToken: true,
    });
    expect(accessOf(PerHandler, PerHandler.prototype.user)).toEqual({ kind: 'user', roles: [] });
  });

  it('a handler inherited by two controllers resolves under each one’s own class policy', () => {
    class Base {
      shared(): void {}
    }
    @Access({ public: true })
    class Open extends Base {}
    @Access({ user: { roles: ['admin'] } })
    class Closed extends Base {}
    expect(accessOf(Open, Base.prototype.shared)).toEqual({ kind: 'public' });
    expect(accessOf(Closed, Base.prototype.shared)).toEqual({ kind: 'user', roles: ['admin'] });
  });

  it('resolves once per handler: later calls do not read metadata again', () => {
    class Fresh {
      @Access({ user: {} })
      handler(): void {}
    }
    const first = accessOf(Fresh, Fresh.prototype.handler);
    const spy = jest.spyOn(Reflect, 'getMetadata');
    try {
      for (let i = 0; i < 100; i++) expect(accessOf(Fresh, Fresh.prototype.handler)).toBe(first);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a route that declares a policy on both the controller and the handler', () => {
    @Access({ user: {} })
    class Both {
      @Access({ public: true })
      handler(): void {}
    }
    expect(() => accessOf(Both, Both.prototype.handler)).toThrow(/Both\.handler: @Access on both/);
  });

  it.each<[string, unknown]>([
    ['no key', {}],
    ['two keys', { public: true, user: {} }],
    ['public: false', { public: false }],
    ['an unknown key', { admin: true }],
  ])('refuses a malformed policy (%s) when the decorator is applied', (_name, policy) => {
    expect(() => Access(policy as AccessPolicy)).toThrow(/@Access/);
  });

  it('stores the resolved policy and documents its answers (401, 403 with roles; 401, 403, 429 for a service)', () => {
    const responses = (handler: object) =>
      Object.keys((Reflect.getMetadata(API_RESPONSE, handler) as object) ?? {}).sort();
    expect(Reflect.getMetadata(ACCESS, PerHandler.prototype.open)).toEqual({ kind: 'public' });
    expect(responses(PerHandler.prototype.open)).toEqual([]);
    expect(responses(PerHandler.prototype.user)).toEqual(['401']);
    expect(Reflect.getMetadata(API_RESPONSE, AdminOnly)).toHaveProperty('403');
    expect(responses(PerHandler.prototype.partner)).toEqual(['401', '403', '429']);
  });

  it('gives each policy its OpenAPI security', () => {
    expect(accessSecurity({ kind: 'public' })).toEqual([]);
    expect(accessSecurity({ kind: 'user', roles: ['admin'] })).toEqual([{ bearer: [] }]);
    expect(accessSecurity({ kind: 'service', wechatToken: false })).toEqual([{ serviceClient: [] }]);
  });
});
