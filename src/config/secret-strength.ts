/** HS256 wants a key of at least the hash size (RFC 7518 §3.2): 32 random bytes. */
const MIN_SECRET_BITS = 256;
// Words that make a value a placeholder or a password, not a key (≥ 6 letters: random text almost never has them).
const COMMON_WORDS =
  /password|passwd|secret|changeme|example|default|replace|placeholder|sample|qwerty|letmein|welcome|iloveyou/;

/**
 * Why a production secret (JWT_SECRET, JWT_PREVIOUS_SECRETS, SERVICE_CLIENTS) is not a random key, or
 * undefined when it looks like one.
 * The value's alphabet bounds its entropy (hex 4 bits a character, base64 6, other printable ~6.5);
 * what a person types — repetition, runs and sequences, words, one letter case, few distinct
 * characters — is refused even when long enough. Thresholds are set so that real generators'
 * output (`openssl rand`, base64/hex of random bytes) fails with a probability below ~1e-6.
 */
export function weakSecretReason(value: string): string | undefined {
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
  return undefined;
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
