/** One revocation, as held in memory, in the store, on the wire and (as a row) in the database. */
export interface Revocation {
  /** 'u': every access token of a user issued under an earlier epoch; 's': every token of a session. */
  kind: 'u' | 's';
  /** The user's or session's id, lowercase. */
  id: string;
  /**
   * For a user: the epoch (epoch milliseconds of the revocation, strictly increasing per user) that tokens
   * must carry at least (claim `uv`). For a session: 0 (all of its tokens).
   */
  validAfter: number;
  /** Epoch ms after which the entry can be forgotten: every token it could stop has expired by then. */
  until: number;
}

export function decodeRevocation(raw: string): Revocation | null {
  let r: Partial<Revocation>;
  try {
    r = JSON.parse(raw) as Partial<Revocation>;
  } catch {
    return null;
  }
  if (
    r === null ||
    typeof r !== 'object' ||
    (r.kind !== 'u' && r.kind !== 's') ||
    typeof r.id !== 'string' ||
    typeof r.validAfter !== 'number' ||
    typeof r.until !== 'number'
  )
    return null;
  return { kind: r.kind, id: r.id, validAfter: r.validAfter, until: r.until };
}
