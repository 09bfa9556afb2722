import { avatarUrlProblem, nicknameProblem, normalizeNickname } from './profile-rules';

const nickname = (value: string): string | null => nicknameProblem(normalizeNickname(value));

describe('nickname rules', () => {
  it.each([
    ['plain', 'Ming'],
    ['CJK', '小程序用户'],
    ['emoji with skin tone (2 code points)', '👍🏽'],
    ['ZWJ family (5 code points)', '👨‍👩‍👧'],
    ['flag and variation selector', '🇨🇳❤️'],
    ['supplementary-plane CJK', '𠮷野家'],
    ['inner spaces', 'Li  Ming'],
    ['exactly 32 code points of 4-byte emoji (64 UTF-16 units, 128 bytes)', '😀'.repeat(32)],
  ])('accepts %s', (_, value) => {
    expect(nickname(value)).toBeNull();
  });

  it('counts code points, not UTF-16 units or bytes', () => {
    expect(nickname('a'.repeat(32))).toBeNull();
    expect(nickname('a'.repeat(33))).toMatch(/1 to 32/);
    expect(nickname('😀'.repeat(33))).toMatch(/1 to 32/);
    // 7 families of 5 code points = 35 > 32, though only 7 graphemes; 6 families = 30.
    expect(nickname('👨‍👩‍👧'.repeat(7))).toMatch(/1 to 32/);
    expect(nickname('👨‍👩‍👧'.repeat(6))).toBeNull();
  });

  it('trims edge spaces (ASCII, NBSP, ideographic, BOM) before counting', () => {
    expect(normalizeNickname('  Ming\u3000')).toBe('Ming');
    expect(normalizeNickname('\u00a0\ufeffMing\u2003')).toBe('Ming');
    expect(normalizeNickname(' 李 明 ')).toBe('李 明');
    expect(nickname(` ${'a'.repeat(32)} `)).toBeNull();
    expect(nickname('   ')).toMatch(/1 to 32/);
    expect(nickname('')).toMatch(/1 to 32/);
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['newline at the edge (not trimmed away)', 'Ming\n'],
    ['carriage return', '\rMing'],
    ['ESC', 'a\u001bb'],
    ['DEL', 'a\u007fb'],
    ['C1 (NEL)', 'a\u0085b'],
    ['C1 (U+009F)', 'a\u009fb'],
    ['line separator', 'a\u2028b'],
    ['paragraph separator', 'a\u2029b'],
    ['LRE', 'a\u202ab'],
    ['RLO', 'evil\u202egnp.exe'],
    ['PDF', 'a\u202cb'],
    ['LRI', 'a\u2066b'],
    ['PDI', 'a\u2069b'],
    ['RLM', 'a\u200fb'],
    ['Arabic letter mark', 'a\u061cb'],
    ['lone high surrogate', 'a\ud83d'],
    ['lone low surrogate', '\ude00a'],
  ])('refuses %s', (_, value) => {
    expect(nickname(value)).not.toBeNull();
  });

  it.each([
    ['only a zero-width space', '\u200b'],
    ['only a word joiner', '\u2060'],
    ['only the Hangul filler', '\u3164\u3164'],
    ['only braille blanks', '\u2800'],
    ['only a combining mark', '\u0301'],
    ['only ZWJs', '\u200d\u200d'],
    ['a noncharacter', 'a\ufffe'],
    ['U+10FFFF', 'a\u{10ffff}'],
    ['a BOM inside', 'Li\ufeffMing'],
  ])('refuses %s (displays as nothing, or is not text)', (_, value) => {
    expect(nickname(value)).not.toBeNull();
  });

  it('accepts a visible name carrying a zero-width joiner or a combining mark', () => {
    expect(nickname('e\u0301')).toBeNull();
    expect(nickname('a\u200db')).toBeNull();
  });

  it('refuses non-strings', () => {
    expect(nicknameProblem(42)).toMatch(/string/);
    expect(nicknameProblem({})).toMatch(/string/);
    expect(normalizeNickname(42)).toBe(42);
  });
});

describe('avatarUrl rules', () => {
  it.each([
    'https://cdn.example.com/a.png',
    'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132',
    'https://example.com:8443/p/%E5%A4%B4%E5%83%8F.png?x=1&y=2#f',
    `https://example.com/${'a'.repeat(512 - 'https://example.com/'.length)}`,
  ])('accepts %s', (value) => {
    expect(avatarUrlProblem(value)).toBeNull();
  });

  it.each([
    ['http', 'http://cdn.example.com/a.png'],
    ['relative', '/a.png'],
    ['scheme-relative', '//cdn.example.com/a.png'],
    ['upper-case scheme (written https:// only)', 'HTTPS://cdn.example.com/a.png'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:image/png;base64,AAAA'],
    ['wxfile (a local temp file)', 'wxfile://tmp_abc.png'],
    ['credentials', 'https://user:pass@cdn.example.com/a.png'],
    ['user only', 'https://user@cdn.example.com/a.png'],
    ['bare @', 'https://@cdn.example.com/a.png'],
    ['no host', 'https://'],
    ['no host, path only', 'https:///a.png'],
    ['space', 'https://cdn.example.com/a b.png'],
    ['tab', 'https://cdn.example.com/a\t.png'],
    ['newline', 'https://cdn.example.com/a.png\n'],
    ['NUL', 'https://cdn.example.com/a\u0000.png'],
    ['DEL', 'https://cdn.example.com/a\u007f.png'],
    ['non-ASCII', 'https://cdn.example.com/头像.png'],
    ['bidi override', 'https://cdn.example.com/\u202egnp.png'],
    ['backslash', 'https:\\\\cdn.example.com\\a.png'],
    ['too long', `https://example.com/${'a'.repeat(513 - 'https://example.com/'.length)}`],
    ['empty', ''],
  ])('refuses %s', (_, value) => {
    expect(avatarUrlProblem(value)).not.toBeNull();
  });

  it.each([
    ['only a zero-width space', '\u200b'],
    ['only a word joiner', '\u2060'],
    ['only the Hangul filler', '\u3164\u3164'],
    ['only braille blanks', '\u2800'],
    ['only a combining mark', '\u0301'],
    ['only ZWJs', '\u200d\u200d'],
    ['a noncharacter', 'a\ufffe'],
    ['U+10FFFF', 'a\u{10ffff}'],
    ['a BOM inside', 'Li\ufeffMing'],
  ])('refuses %s (displays as nothing, or is not text)', (_, value) => {
    expect(nickname(value)).not.toBeNull();
  });

  it('accepts a visible name carrying a zero-width joiner or a combining mark', () => {
    expect(nickname('e\u0301')).toBeNull();
    expect(nickname('a\u200db')).toBeNull();
  });

  it('refuses non-strings', () => {
    expect(avatarUrlProblem(42)).toMatch(/string/);
  });
});
