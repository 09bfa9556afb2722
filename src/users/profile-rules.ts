/**
 * What a profile may hold. The values come from WeChat's avatar/nickname fill-in components, i.e. from the
 * user's keyboard (nickname) and from the mini program's own upload (avatar URL):
 *
 * nickname
 * - Leading and trailing spaces are trimmed (U+0020, NBSP, U+1680, U+2000–U+200A, U+202F, U+205F, ideographic
 *   space U+3000, BOM): keyboards add them and nobody means them. Trimming happens before the checks below.
 * - 1–32 characters counted in Unicode code points — not UTF-8 bytes, not UTF-16 units, not graphemes. So
 *   "👍🏽" is 2 (thumb + skin tone) and the family "👨‍👩‍👧" is 5 (3 people + 2 ZWJ). Code points are what the
 *   database counts (MySQL VARCHAR length), so 32 always fits the column.
 * - Refused anywhere in it (400 VALIDATION_FAILED), edges included (trimming does not remove them): control
 *   characters C0 (U+0000–U+001F, so also tab and newline), DEL, C1 (U+0080–U+009F); the line and paragraph
 *   separators U+2028/U+2029; every bidi control (U+061C, U+200E/U+200F, the embeddings and overrides
 *   U+202A–U+202E, the isolates U+2066–U+2069), which could make a name display as something else; and
 *   unpaired surrogates (not text; utf8mb4 cannot store them). ZWJ (U+200D) and variation selectors stay
 *   allowed: emoji need them. Emoji are stored byte for byte. Noncharacters (U+FDD0–U+FDEF, U+xFFFE/U+xFFFF)
 *   and a BOM inside the name are refused too.
 * - It must show something: at least one letter, digit, punctuation mark or symbol that is not a blank
 *   filler (U+3164, U+115F, U+1160, U+FFA0, U+2800). A name of only zero-width, format or combining
 *   characters displays as nothing and is refused.
 * avatarUrl
 * - An absolute `https://` URL of at most 512 characters, printable ASCII only (non-ASCII must be
 *   percent-encoded): no whitespace, no control characters, no backslash (parsers disagree on it), no
 *   credentials (`user:pass@` or a bare `@` before the host), and a host right after `https://`.
 * - Only the characters RFC 3986 allows in a URI, minus the single quote: no `"`, `'`, `<`, `>`, backtick,
 *   `{`, `}`, `|` or `^`, and every `%` starts a `%XX` escape. The URL is shown by clients we do not control
 *   (admin consoles, web pages, exports): a quote or an angle bracket in it is markup, never an image.
 * - A public host: not `localhost` or a name under it, not a name that only resolves inside a network
 *   (`.local`, `.internal`, `.home.arpa`, `.localdomain`) or a single label (`https://intranet/`), and not an
 *   IP address in a special-purpose range (loopback, private, CGNAT 100.64/10, link-local, unspecified,
 *   multicast, reserved, documentation; IPv6 ULA fc00::/7, link-local, and IPv4 carried inside IPv6 —
 *   mapped, compatible, NAT64, 6to4). The host is judged as WHATWG URL parses it, so `2130706433`,
 *   `0x7f.1`, `0177.0.0.1`, `127.1` and `%31%32%37.0.0.1` are all 127.0.0.1, and a trailing dot changes
 *   nothing. The service never fetches the URL; this keeps clients that load it away from the viewer's own
 *   network. A public name that resolves to a private address is not caught (that needs DNS at display
 *   time, not here).
 * - WeChat's own avatar URLs (`https://thirdwx.qlogo.cn/mmopen/...`) pass all of this.
 * both
 * - `null` clears the field; an absent field stays as it is; `{}` (nothing to change) is refused.
 */

import { BlockList, isIPv4 } from 'node:net';

export const NICKNAME_MAX_CODE_POINTS = 32;
export const AVATAR_URL_MAX_LENGTH = 512;

// Unicode White_Space minus the control characters and U+2028/U+2029 (those are refused, not trimmed), plus BOM.
const EDGE_SPACE = '[\\u0020\\u00A0\\u1680\\u2000-\\u200A\\u202F\\u205F\\u3000\\uFEFF]+';
const EDGES = new RegExp(`^${EDGE_SPACE}|${EDGE_SPACE}$`, 'gu');
const FORBIDDEN_IN_NICKNAME = /[\p{Cc}\u2028\u2029\p{Bidi_Control}]/u;
// With the u flag a surrogate pair is one code point, so only an unpaired surrogate matches.
const LONE_SURROGATE = /\p{Cs}/u;
const PRINTABLE_ASCII = /^[\x21-\x7E]+$/;
// RFC 3986's unreserved, reserved and `%`, without the single quote (a sub-delim, but markup in an attribute).
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
// Names that never reach the public internet: RFC 6761 localhost, RFC 6762 .local, RFC 8375 home.arpa,
// ICANN's .internal, and the common .localdomain.
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/;
const NONCHARACTER =
  /[\uFDD0-\uFDEF\uFEFF]|[\uFFFE\uFFFF]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u;
// Letters that render as blank space.
const BLANK_FILLERS = /[\u3164\u115F\u1160\uFFA0\u2800]/gu;
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/** The nickname as stored: edge spaces trimmed. Non-strings are returned unchanged for the validator to refuse. */
export function normalizeNickname(value: unknown): unknown {
  return typeof value === 'string' ? value.replace(EDGES, '') : value;
}

/** Why a (normalized) nickname is refused, or null when it is fine. */
export function nicknameProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'nickname must be a string';
  if (LONE_SURROGATE.test(value)) return 'nickname must be well-formed Unicode';
  if (FORBIDDEN_IN_NICKNAME.test(value)) return 'nickname must not contain control or bidi characters';
  if (NONCHARACTER.test(value)) return 'nickname must not contain noncharacters or a byte-order mark';
  const length = [...value].length;
  if (length < 1 || length > NICKNAME_MAX_CODE_POINTS)
    return `nickname must be 1 to ${NICKNAME_MAX_CODE_POINTS} characters`;
  if (!VISIBLE.test(value.replace(BLANK_FILLERS, ''))) return 'nickname must contain a visible character';
  return null;
}

/** Why an avatar URL is refused, or null when it is fine. */
export function avatarUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'avatarUrl must be a string';
  if (value.length > AVATAR_URL_MAX_LENGTH)
    return `avatarUrl must be at most ${AVATAR_URL_MAX_LENGTH} characters`;
  if (!PRINTABLE_ASCII.test(value) || value.includes('\\'))
    return 'avatarUrl must be printable ASCII without spaces or backslashes';
  if (!URI_CHARACTERS.test(value))
    return 'avatarUrl must not contain quotes, angle brackets or other characters a URL does not allow';
  if (BAD_PERCENT.test(value)) return 'avatarUrl must percent-encode as %XX';
  if (!value.startsWith('https://')) return 'avatarUrl must be an absolute https URL';
  const authority = value.slice('https://'.length).split(/[/?#]/, 1)[0];
  if (authority.includes('@')) return 'avatarUrl must not contain credentials';
  // As written, not as parsed: WHATWG URL reads `https:///x` as the host `x`.
  if (!authority) return 'avatarUrl must be an absolute https URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'avatarUrl must be an absolute https URL';
  }
  if (url.protocol !== 'https:' || !url.hostname) return 'avatarUrl must be an absolute https URL';
  if (!isPublicHost(url.hostname))
    return 'avatarUrl must name a public host (not localhost, an internal name or a private, loopback or link-local address)';
  return null;
}

/**
 * IANA's special-purpose ranges (RFC 6890 and successors), and every IPv6 form that carries an IPv4
 * address (a link there would reach whatever the IPv4 address is, private ones included). Two lists: a
 * BlockList holding both kinds matches an IPv4 address against the IPv6 rules through its mapped form
 * (::ffff:a.b.c.d), which would refuse every IPv4 address.
 */
const NOT_PUBLIC_V4: BlockList = (() => {
  const list = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // CGNAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local (cloud metadata at 169.254.169.254)
    ['172.16.0.0', 12],
    ['192.0.0.0', 24], // IETF protocol assignments
    ['192.0.2.0', 24], // documentation
    ['192.88.99.0', 24], // 6to4 relay anycast
    ['192.168.0.0', 16],
    ['198.18.0.0', 15], // benchmarking
    ['198.51.100.0', 24], // documentation
    ['203.0.113.0', 24], // documentation
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
  ] as const)
    list.addSubnet(net, bits, 'ipv4');
  return list;
})();

const NOT_PUBLIC_V6: BlockList = (() => {
  const list = new BlockList();
  for (const [net, bits] of [
    ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
    ['::ffff:0:0', 96], // IPv4-mapped: an IPv4 address in IPv6 dress, whichever it is
    ['64:ff9b::', 96], // NAT64 (carries an IPv4 address)
    ['64:ff9b:1::', 48], // local-use NAT64
    ['100::', 64], // discard
    ['2001::', 23], // IETF protocol assignments (Teredo and others)
    ['2001:db8::', 32], // documentation
    ['2002::', 16], // 6to4 (carries an IPv4 address)
    ['fc00::', 7], // unique local (ULA)
    ['fe80::', 10], // link-local
    ['fec0::', 10], // the old site-local
    ['ff00::', 8], // multicast
  ] as const)
    list.addSubnet(net, bits, 'ipv6');
  return list;
})();

/** `hostname` as WHATWG URL gives it: lower case, IPv4 in dotted form, IPv6 in brackets. */
function isPublicHost(hostname: string): boolean {
  if (hostname.startsWith('[')) return !NOT_PUBLIC_V6.check(hostname.slice(1, -1), 'ipv6');
  if (isIPv4(hostname)) return !NOT_PUBLIC_V4.check(hostname, 'ipv4');
  const name = hostname.replace(/\.$/, '');
  // A single label (`intranet`, `metadata`) is resolved through the viewer's search domains, never the internet.
  return name.includes('.') && !INTERNAL_NAME.test(name);
}
