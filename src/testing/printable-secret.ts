import { randomBytes } from 'node:crypto';

/** Printable ASCII without spaces, uniformly random (what a password manager generates). */
export function printable(length: number): string {
  const alphabet = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('');
  return Array.from(randomBytes(length * 2))
    .filter((b) => b < 188) // 2 × 94: no modulo bias
    .slice(0, length)
    .map((b) => alphabet[b % 94])
    .join('');
}
