import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(Buffer.alloc(32, 1));
  const aad = 'wxapp\nopenid-1';

  it('opens what it sealed', () => {
    expect(box.open(box.seal('session-key==', aad), aad)).toBe('session-key==');
  });

  it('seals to the v1.<iv>.<tag>.<ct> format without the plaintext', () => {
    const sealed = box.seal('plain-session-key', aad);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('plain-session-key');
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('same', aad)).not.toBe(box.seal('same', aad));
  });

  it('round-trips the empty string and multi-byte text', () => {
    expect(box.open(box.seal('', aad), aad)).toBe('');
    expect(box.open(box.seal('会话密钥 🔑', aad), aad)).toBe('会话密钥 🔑');
  });

  it('refuses a ciphertext moved to another row (different aad)', () => {
    const sealed = box.seal('secret', aad);
    expect(() => box.open(sealed, 'wxapp\nopenid-2')).toThrow();
  });

  it('refuses a ciphertext sealed with another key', () => {
    const other = new SecretBox(Buffer.alloc(32, 2));
    expect(() => box.open(other.seal('secret', aad), aad)).toThrow();
  });

  it('refuses tampered ciphertext or tag', () => {
    const [v, iv, tag, ct] = box.seal('secret', aad).split('.');
    const flip = (s: string): string => {
      const b = Buffer.from(s, 'base64url');
      b[0] ^= 1;
      return b.toString('base64url');
    };
    expect(() => box.open([v, iv, tag, flip(ct)].join('.'), aad)).toThrow();
    expect(() => box.open([v, iv, flip(tag), ct].join('.'), aad)).toThrow();
  });

  it('refuses unknown formats', () => {
    const [, iv, tag, ct] = box.seal('secret', aad).split('.');
    expect(() => box.open(['v2', iv, tag, ct].join('.'), aad)).toThrow('SecretBox: unknown format');
    expect(() => box.open('v1.onlyiv', aad)).toThrow('SecretBox: unknown format');
    expect(() => box.open('', aad)).toThrow('SecretBox: unknown format');
  });

  it('requires a 32-byte key', () => {
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow('SecretBox needs a 32-byte key');
    expect(() => new SecretBox(Buffer.alloc(33))).toThrow('SecretBox needs a 32-byte key');
  });
});
