/**
 * What may go into an audit row besides its columns. An allowlist, not a blocklist: a key not listed here is
 * dropped, and a value that does not fit its key's rule is dropped, so a credential, login code, token,
 * session_key or phone number can only reach the table if someone first adds a rule that admits it. Every rule
 * admits short ASCII only; integers are bounded below the size of a phone number.
 *
 * To record something new, add a key with the tightest rule that fits it (and say why it is not personal).
 */
type DetailRule =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'pattern'; pattern: RegExp };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Role names as stored on users (`admin,user`): lowercase words, no digits (a hex secret cannot pass). */
const ROLE_LIST = /^[a-z][a-z_]{0,31}(,[a-z][a-z_]{0,31}){0,15}$/;

export const AUDIT_DETAIL_RULES: Readonly<Record<string, DetailRule>> = {
  /** How many sessions/rows an action touched (logout-all, eviction, deletion). */
  count: { kind: 'int', min: 0, max: 100_000 },
  /** WeChat's errcode on a failed call (e.g. 40029): the number only, never errmsg (it may echo the code). */
  wxErrcode: { kind: 'int', min: -999_999, max: 999_999 },
  /** Seconds between a refresh token's rotation and its reuse (token.reuse_detected). */
  secondsSinceRotation: { kind: 'int', min: 0, max: 99_999_999 },
  /** login.succeeded: the login created the user. */
  isNewUser: { kind: 'bool' },
  /** user.disabled / user.enabled: the status before the change. */
  previousStatus: { kind: 'enum', values: ['active', 'disabled'] },
  /** user.roles_changed: before and after, as stored. */
  roles: { kind: 'pattern', pattern: ROLE_LIST },
  previousRoles: { kind: 'pattern', pattern: ROLE_LIST },
  /** users.merged: the user folded into `userId` (a random UUID, like user_id itself). */
  mergedUserId: { kind: 'pattern', pattern: UUID },
  /** token.refreshed: answered from the reuse interval (the rotation's own pair again), not a new rotation. */
  reuseInterval: { kind: 'bool' },
  /** Who started a deletion, export or logout: the user themselves, an admin, or the system (eviction, reuse). */
  initiator: { kind: 'enum', values: ['self', 'admin', 'system'] },
  /** risk.*: WeChat's getuserriskrank answer (0–4, a rating of the account, not personal data about it). */
  riskRank: { kind: 'int', min: 0, max: 4 },
  /** risk.*: what the rank was asked for (a new identity's first login, or a phone lookup). */
  riskScene: { kind: 'enum', values: ['signup', 'phone'] },
  /** profile.content_rejected: which field WeChat's content check refused, and its label (a category). */
  contentField: { kind: 'enum', values: ['nickname', 'avatar'] },
  contentLabel: { kind: 'int', min: 0, max: 999_999 },
};

/** The stored JSON's limit (the column is varchar(1024); every admitted value is ASCII, so chars = bytes). */
export const MAX_DETAILS_LENGTH = 1024;

export type AuditDetails = Record<string, string | number | boolean>;

export interface SanitizedDetails {
  /** The JSON to store, or null when nothing was admitted. */
  json: string | null;
  /** Keys that were dropped (unknown key, wrong type, value outside its rule, over the size limit). */
  dropped: string[];
}

function admits(rule: DetailRule, value: unknown): boolean {
  switch (rule.kind) {
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max;
    case 'bool':
      return typeof value === 'boolean';
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value);
    case 'pattern':
      // The length check first: no regex ever runs over a huge string.
      return typeof value === 'string' && value.length <= MAX_DETAILS_LENGTH && rule.pattern.test(value);
  }
}

/** Keeps only what the allowlist admits; never throws, whatever it is given. */
export function sanitizeDetails(details: unknown): SanitizedDetails {
  if (details === undefined || details === null) return { json: null, dropped: [] };
  if (typeof details !== 'object' || Array.isArray(details))
    return { json: null, dropped: ['(not an object)'] };
  const kept: AuditDetails = {};
  const dropped: string[] = [];
  for (const key of Object.keys(details)) {
    const value: unknown = (details as Record<string, unknown>)[key];
    const rule = Object.hasOwn(AUDIT_DETAIL_RULES, key) ? AUDIT_DETAIL_RULES[key] : undefined;
    if (rule && admits(rule, value)) kept[key] = value as string | number | boolean;
    else dropped.push(key);
  }
  let json = JSON.stringify(kept);
  // Trim whole entries, last first, rather than cut a value in half.
  const keys = Object.keys(kept);
  while (json.length > MAX_DETAILS_LENGTH && keys.length > 0) {
    const key = keys.pop() as string;
    delete kept[key];
    dropped.push(key);
    json = JSON.stringify(kept);
  }
  return { json: keys.length > 0 ? json : null, dropped };
}

/** A key as it may appear in a log line (it came from code, but a log line must never carry a value). */
export function loggableKey(key: string): string {
  return /^[A-Za-z0-9_()\s]{1,40}$/.test(key) ? key : '?';
}
