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
    // WeChat's own avatar URLs (the sandbox's open data uses the same shape).
    'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132',
    'https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLxxx_yyy-zzz/132',
    'https://example.com:8443/p/%E5%A4%B4%E5%83%8F.png?x=1&y=2#f',
    'https://cdn.example.com/a.png?sig=a~b_c-d.e&t=(1)*;x=y,z!$+',
    'https://CDN.Example.COM/a.png',
    'https://cdn.example.com./a.png',
    'https://xn--fiqs8s.cn/a.png',
    'https://8.8.8.8/a.png',
    'https://100.128.0.1/a.png', // just past CGNAT
    'https://172.32.0.1/a.png', // just past 172.16/12
    'https://[2606:4700:4700::1111]/a.png',
    'https://localhost.example.com/a.png', // "localhost" as a label of a public name
    'https://my-local.example.com/a.png',
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
    ['a double quote', 'https://cdn.example.com/a.png"onerror="alert(1)'],
    ['a single quote', "https://cdn.example.com/a.png'onerror='alert(1)"],
    ['angle brackets', 'https://cdn.example.com/<script>alert(1)</script>'],
    ['a closing angle bracket', 'https://cdn.example.com/a.png>'],
    ['a backtick', 'https://cdn.example.com/`a`.png'],
    ['braces', 'https://cdn.example.com/{a}.png'],
    ['a pipe', 'https://cdn.example.com/a|b.png'],
    ['a caret', 'https://cdn.example.com/a^b.png'],
  ])('refuses %s (markup, not a URL)', (_, value) => {
    expect(avatarUrlProblem(value)).toMatch(/quotes, angle brackets/);
  });

  it.each([
    ['a lone %', 'https://cdn.example.com/100%.png'],
    ['% with one hex digit', 'https://cdn.example.com/a%2.png'],
    ['% with non-hex', 'https://cdn.example.com/a%zz.png'],
  ])('refuses %s (malformed percent-encoding)', (_, value) => {
    expect(avatarUrlProblem(value)).toMatch(/%XX/);
  });

  it.each([
    ['localhost', 'https://localhost/a.png'],
    ['LOCALHOST, upper case', 'https://LOCALHOST/a.png'],
    ['localhost with a trailing dot', 'https://localhost./a.png'],
    ['a name under localhost', 'https://cdn.localhost/a.png'],
    ['a deep name under localhost', 'https://a.b.localhost./a.png'],
    ['mDNS .local', 'https://printer.local/a.png'],
    ['.internal (cloud metadata)', 'https://metadata.google.internal/a.png'],
    ['.home.arpa', 'https://nas.home.arpa/a.png'],
    ['.localdomain', 'https://box.localdomain/a.png'],
    ['a single label', 'https://intranet/a.png'],
    ['IPv4 loopback', 'https://127.0.0.1/a.png'],
    ['IPv4 loopback, elsewhere in 127/8', 'https://127.45.6.7/a.png'],
    ['IPv4 loopback, decimal', 'https://2130706433/a.png'],
    ['IPv4 loopback, hex', 'https://0x7f000001/a.png'],
    ['IPv4 loopback, dotted hex', 'https://0x7f.0.0.1/a.png'],
    ['IPv4 loopback, octal', 'https://0177.0.0.1/a.png'],
    ['IPv4 loopback, short form', 'https://127.1/a.png'],
    ['IPv4 loopback, percent-encoded', 'https://%31%32%37.0.0.1/a.png'],
    ['IPv4 loopback with a port', 'https://127.0.0.1:8443/a.png'],
    ['unspecified 0.0.0.0', 'https://0.0.0.0/a.png'],
    ['unspecified, decimal 0', 'https://0/a.png'],
    ['10/8', 'https://10.1.2.3/a.png'],
    ['172.16/12', 'https://172.16.0.1/a.png'],
    ['172.16/12, its end', 'https://172.31.255.255/a.png'],
    ['192.168/16', 'https://192.168.1.1/a.png'],
    ['192.168/16, decimal', 'https://3232235777/a.png'],
    ['CGNAT 100.64/10', 'https://100.64.0.1/a.png'],
    ['CGNAT 100.64/10, its end', 'https://100.127.255.255/a.png'],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data'],
    ['multicast', 'https://224.0.0.1/a.png'],
    ['broadcast', 'https://255.255.255.255/a.png'],
    ['documentation range', 'https://192.0.2.10/a.png'],
    ['IPv6 loopback', 'https://[::1]/a.png'],
    ['IPv6 loopback, long form', 'https://[0:0:0:0:0:0:0:1]/a.png'],
    ['IPv6 unspecified', 'https://[::]/a.png'],
    ['IPv6 ULA fc00::/7', 'https://[fd12:3456:789a::1]/a.png'],
    ['IPv6 ULA, fc', 'https://[fc00::1]/a.png'],
    ['IPv6 link-local', 'https://[fe80::1]/a.png'],
    ['IPv6 site-local (deprecated)', 'https://[fec0::1]/a.png'],
    ['IPv6 multicast', 'https://[ff02::1]/a.png'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/a.png'],
    ['IPv4-mapped loopback, hex', 'https://[::ffff:7f00:1]/a.png'],
    ['IPv4-mapped private', 'https://[::ffff:192.168.0.1]/a.png'],
    ['IPv4-mapped public (still an IPv4 address in disguise)', 'https://[::ffff:8.8.8.8]/a.png'],
    ['IPv4-compatible loopback', 'https://[::127.0.0.1]/a.png'],
    ['NAT64 loopback', 'https://[64:ff9b::127.0.0.1]/a.png'],
    ['6to4 of a private address', 'https://[2002:c0a8:1::1]/a.png'],
    ['IPv6 zone id', 'https://[fe80::1%25eth0]/a.png'],
  ])('refuses %s (not a public host)', (_, value) => {
    expect(avatarUrlProblem(value)).not.toBeNull();
  });

  it('names the rule a private host breaks', () => {
    expect(avatarUrlProblem('https://192.168.1.1/a.png')).toMatch(/public host/);
    expect(avatarUrlProblem('https://[::ffff:127.0.0.1]/a.png')).toMatch(/public host/);
    expect(avatarUrlProblem('https://0x7f.0.0.1/a.png')).toMatch(/public host/);
    expect(avatarUrlProblem('https://a.localhost/a.png')).toMatch(/public host/);
  });

  it('refuses non-strings', () => {
    expect(avatarUrlProblem(42)).toMatch(/string/);
    expect(avatarUrlProblem({ href: 'https://cdn.example.com/a.png' })).toMatch(/string/);
  });
});
