/** HS256 wants a key of at least the hash size (RFC 7518 §3.2): 32 random bytes. */
const MIN_SECRET_BITS = 256;
// Words that make a value a placeholder or a password, not a key (≥ 6 letters: random text almost never has them).
const COMMON_WORDS =
  /password|passwd|secret|changeme|example|default|replace|placeholder|sample|qwerty|letmein|welcome|iloveyou/;

/** The longest readable label (`prod-`, `wxauth-staging-`, `-2024`) judged apart from the random part. */
const MAX_LABEL = 32;
/** Longer values are judged whole (each of the candidate parts is judged in full). */
const MAX_LABELLED = 512;

/**
 * Why a production secret (JWT_SECRET, JWT_PREVIOUS_SECRETS, SERVICE_CLIENTS) is not a random key, or
 * undefined when it looks like one.
 *
 * A readable label before or after the random part (`prod-` + `openssl rand -hex 32`) spoils the
 * alphabet estimate of the whole (hex turns into "base64 in one letter case"), so the value also passes
 * when its part between such labels passes on its own: a strong part makes the whole at least as
 * strong. A label ends (or starts) at a character that is not a letter or digit, within 32 characters
 * of the value's start (or end): cutting anywhere else would cut words in half and let a phrase or a
 * placeholder slip past the rules that read them. The reason given is the whole value's.
 */
export function weakSecretReason(value: string): string | undefined {
  const reason = randomnessProblem(value);
  if (reason === undefined || value.length > MAX_LABELLED) return reason;
  const starts = [0];
  const ends = [value.length];
  for (let i = 0; i < value.length; i++)
    if (/[^A-Za-z0-9]/.test(value[i])) {
      if (i < MAX_LABEL) starts.push(i + 1);
      if (i >= value.length - MAX_LABEL) ends.push(i);
    }
  for (const start of starts)
    for (const end of ends)
      if ((start > 0 || end < value.length) && end > start && !randomnessProblem(value.slice(start, end)))
        return undefined;
  return reason;
}

/**
 * The value's alphabet bounds its entropy (hex 4 bits a character, base64 6, other printable ~6.5);
 * what a person types — repetition, runs and sequences, words, one letter case, few distinct
 * characters, keyboard walks, phrases — is refused even when long enough. Thresholds are set so that
 * real generators' output (`openssl rand`, base64/hex of random bytes, a password manager's printable
 * characters) fails with a probability below ~1e-6.
 */
function randomnessProblem(value: string): string | undefined {
  const text = value.replace(/=+$/, ''); // base64 padding carries no entropy
  const alphabet = /^[0-9]+$/.test(text)
    ? 10
    : /^(?:[0-9a-f]+|[0-9A-F]+)$/.test(text)
      ? 16
      : /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)$/.test(text)
        ? 64
        : 94;
  if (text.length * Math.log2(alphabet) < MIN_SECRET_BITS) return 'less than 256 bits of randomness';
  if (repeatsItself(text, 8)) return 'it repeats itself';
  // A run of one character or a step-by-one sequence (abcdef, 654321); hex's 16 symbols need a longer one.
  if (hasRun(text, alphabet <= 16 ? 8 : 6)) return 'it contains a run or sequence';
  if (COMMON_WORDS.test(text.toLowerCase().replace(/[^a-z0-9]/g, ''))) return 'it contains a common word';
  // Half the distinct characters a random string of this length and alphabet would show.
  const expectedDistinct = alphabet * (1 - (1 - 1 / alphabet) ** text.length);
  if (new Set(text).size < expectedDistinct / 2) return 'it uses too few distinct characters';
  if (alphabet > 16 && !(/[a-z]/.test(text) && /[A-Z]/.test(text)))
    return 'it does not mix upper- and lower-case letters';
  // Random text steps to a neighbouring key ~10-13 % of the time (hex 12 %, base64 13 %, printable 10 %);
  // `1qaz2wsx3edc…`, `QwErTy…`, `!@#$%^&*` step there 75-95 %. Half is ≥ 20 standard deviations from random.
  if (fraction(text, isKeyboardStep) >= 0.5) return 'it follows a keyboard pattern';
  // Words glued together (`MyCompanyAuthServiceSigningKey`, `CorrectHorseBattery…`): a third or more of
  // the adjacent pairs are among English's 50 most common letter pairs, which random base64 reaches with
  // p < 1e-8 (each pair 4.9 %: 66 % are two letters, 7.4 % of those common) and typed phrases mostly do.
  // Hex has too few letters to spell with, and its six pair up too often to tell.
  if (alphabet > 16 && fraction(text, (a, b) => COMMON_PAIRS.has((a + b).toLowerCase())) >= 1 / 3)
    return 'it reads like words';
  return undefined;
}

/** The share of adjacent character pairs for which `test` holds. */
function fraction(text: string, test: (a: string, b: string) => boolean): number {
  let hits = 0;
  for (let i = 1; i < text.length; i++) if (test(text[i - 1], text[i])) hits++;
  return hits / Math.max(1, text.length - 1);
}

// The 50 most frequent letter pairs inside English words (Norvig's count over the Google Books corpus).
const COMMON_PAIRS = new Set(
  (
    'th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io ' +
    'le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur'
  ).split(' '),
);

/** A US keyboard's keys as (column, row), shifted characters on their key; rows are staggered. */
const KEYS = new Map<string, readonly [number, number]>();
const ROWS: readonly (readonly [string, string, number])[] = [
  ['`1234567890-=', '~!@#$%^&*()_+', 0],
  ['qwertyuiop[]\\', 'QWERTYUIOP{}|', 1.5],
  ["asdfghjkl;'", 'ASDFGHJKL:"', 1.75],
  ['zxcvbnm,./', 'ZXCVBNM<>?', 2.25],
];
ROWS.forEach(([plain, shifted, offset], row) => {
  for (const keys of [plain, shifted]) [...keys].forEach((c, i) => KEYS.set(c, [offset + i, row]));
});

/** Whether b is a neighbouring key of a (left, right, or one of the two touching keys above or below). */
function isKeyboardStep(a: string, b: string): boolean {
  const p = KEYS.get(a);
  const q = KEYS.get(b);
  if (!p || !q) return false;
  const dx = Math.abs(p[0] - q[0]);
  return p[1] === q[1] ? dx === 1 : Math.abs(p[1] - q[1]) === 1 && dx <= 0.75;
}

/** Whether some substring of `length` characters occurs twice (overlapping counts). */
function repeatsItself(text: string, length: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + length <= text.length; i++) {
    const part = text.slice(i, i + length);
    if (seen.has(part)) return true;
    seen.add(part);
  }
  return false;
}

/** Whether `length` consecutive characters step by the same -1, 0 or +1 in character code. */
function hasRun(text: string, length: number): boolean {
  let run = 1;
  for (let i = 1; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    const sameStep = i >= 2 && step === text.charCodeAt(i - 1) - text.charCodeAt(i - 2);
    run = Math.abs(step) <= 1 ? (sameStep ? run + 1 : 2) : 1;
    if (run >= length) return true;
  }
  return false;
}
