/**
 * Secrets that must never appear in logs or (except where they are the point,
 * like tokens in a login answer) in response bodies. Returns each hit as
 * "<where>: <which secret>" so a failure says what leaked without printing it.
 */
export function findLeaks(
  texts: { where: string; text: string }[],
  secrets: Record<string, string[]>,
): string[] {
  const hits: string[] = [];
  for (const [kind, values] of Object.entries(secrets)) {
    for (const value of values) {
      if (value.length < 8) continue; // too short to be a meaningful match
      for (const { where, text } of texts) if (text.includes(value)) hits.push(`${where}: ${kind}`);
    }
  }
  return [...new Set(hits)];
}

/** Access and refresh tokens found in response bodies, so the logs can be checked for them. */
export function tokensIn(bodies: string[]): string[] {
  const tokens: string[] = [];
  for (const body of bodies) {
    for (const m of body.matchAll(/"(accessToken|refreshToken)":"([^"]+)"/g)) tokens.push(m[2]);
  }
  return tokens;
}

/** Secrets handed out during this test file (by every FakeWechat), so each app's logs can be checked on close. */
export const issuedSecrets = {
  sessionKeys: [] as string[],
  codes: [] as string[],
  phoneCodes: [] as string[],
  accessTokens: [] as string[],
  /** Phone numbers WeChat handed out (pure, without country code): personal data, never logged. */
  phoneNumbers: [] as string[],
};

/**
 * Throws when a log line contains an AppSecret, the JWT secret, a session_key, a raw login or phone code,
 * an interface access_token or a phone number.
 */
export function assertLogsClean(logs: string[], appSecrets: string[]): void {
  const leaks = findLeaks(
    logs.map((text, i) => ({ where: `log line ${i}`, text })),
    {
      appSecret: appSecrets,
      sessionKey: issuedSecrets.sessionKeys,
      code: issuedSecrets.codes,
      phoneCode: issuedSecrets.phoneCodes,
      accessToken: issuedSecrets.accessTokens,
      phoneNumber: issuedSecrets.phoneNumbers,
    },
  );
  if (leaks.length > 0) throw new Error(`secrets in the logs: ${leaks.join(', ')}`);
}
