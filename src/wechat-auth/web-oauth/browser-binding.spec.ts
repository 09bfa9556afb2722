import type { FastifyReply, FastifyRequest } from 'fastify';
import { readBinding, writeBinding } from './browser-binding';

const VALUE = 'A'.repeat(43);
const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as FastifyRequest;

describe('browser binding cookie', () => {
  it('reads its own cookie among others, and only a well-formed value', () => {
    expect(readBinding(req(`a=1; wxauth_oauth=${VALUE}; b=2`))).toBe(VALUE);
    expect(readBinding(req(`wxauth_oauth=${VALUE}`))).toBe(VALUE);
    for (const header of [
      undefined,
      '',
      'a=1',
      'wxauth_oauth=short',
      `xwxauth_oauth=${VALUE}`,
      `wxauth_oauth=${VALUE}!`,
    ])
      expect(readBinding(req(header))).toBeUndefined();
  });

  it('sets HttpOnly, SameSite=Lax, the login path, the lifetime, and Secure over https', () => {
    const headers: Record<string, string> = {};
    const reply = { header: (k: string, v: string) => void (headers[k] = v) } as unknown as FastifyReply;
    writeBinding(reply, VALUE, 600, true);
    expect(headers['set-cookie']).toBe(
      `wxauth_oauth=${VALUE}; Path=/auth/wechat/oauth; Max-Age=600; HttpOnly; SameSite=Lax; Secure`,
    );
    writeBinding(reply, VALUE, 600, false);
    expect(headers['set-cookie']).not.toContain('Secure');
  });
});
