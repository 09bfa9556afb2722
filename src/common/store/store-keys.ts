/**
 * Every key the app writes into the shared store (`KvStore`), in one place: each family's prefix and the
 * function that builds its keys. Nothing else writes a key literal.
 *
 * Why one registry: the revocation replica warms itself by scanning a prefix (`entries('revoke:')`), and a
 * family whose prefix began another family's would be read as revocations (or deleted with them); the
 * spec beside this file proves that no prefix is the beginning of another and that the revocation scan
 * covers exactly its two families. The store adds the deployment's own prefix (`REDIS_KEY_PREFIX`) in
 * front of all of these.
 *
 * The strings are the ones in use since each feature was written: changing one would make instances of two
 * versions (a rolling deploy) disagree about a login code, a lock or a counter. Ids from a client or from
 * WeChat are never part of a key raw, where they could identify a person in a Redis dump or a slow-log:
 * login codes, openids and session keys are hashed by the caller before they get here (the sandbox's
 * stand-in WeChat, which only ever holds made-up users, is the exception).
 */
export const KEY_PREFIXES = {
  /** @nestjs/throttler windows (common/throttle): `throttle:<throttler>:<tracker>`. */
  throttle: 'throttle:',
  /** Partner (service client) rate windows (oauth): `svc:rate:<route>:<clientId>`. */
  serviceClientRate: 'svc:rate:',
  /** Failed service-client logins per client IP (oauth): `svc:fail:ip:<ip>`. */
  clientLoginFailuresByIp: 'svc:fail:ip:',
  /** Failed service-client logins per presented client id, hashed (oauth): `svc:fail:id:<sha256>`. */
  clientLoginFailuresById: 'svc:fail:id:',
  /** A user's revocation epoch (token): `revoke:user:<userId>`. Scanned with `REVOCATION_SCAN_PREFIX`. */
  revokeUser: 'revoke:user:',
  /** A revoked session (token): `revoke:sid:<sessionId>`. Scanned with `REVOCATION_SCAN_PREFIX`. */
  revokeSession: 'revoke:sid:',
  /** The sealed successor pair of a just-rotated refresh token (token): `refresh:successor:<sha256>`. */
  refreshSuccessor: 'refresh:successor:',
  /** A login code's claim and kept answer (wechat-auth/login): `wx:code:{<hash>}` and `wx:code:{<hash>}:answer`. */
  loginCode: 'wx:code:',
  /** A login code that may have reached WeChat unanswered: `wx:unsure:<hash>`. */
  loginCodeUnsure: 'wx:unsure:',
  /** The cached interface access_token of an app: `wx:token:<appid>`. */
  interfaceToken: 'wx:token:',
  /** The cross-instance fetch lock of that token: `wx:token-lock:<appid>`. */
  interfaceTokenLock: 'wx:token-lock:',
  /** force_refresh spacing: `wx:token-force-gap:<appid>`. */
  forceRefreshGap: 'wx:token-force-gap:',
  /** force_refresh daily count: `wx:token-force:<appid>:<day>`. */
  forceRefreshDaily: 'wx:token-force:',
  /** WeChat's minute quota is spent for an app's API (errcode 45011): `wx:quota:<appid>:<api>`. Scanned at start. */
  wechatMinuteQuota: 'wx:quota:',
  /** A session_key check's answer for a second: `wx:checksession:<appid>:<tag of openid and session_key>`. */
  checkSession: 'wx:checksession:',
  /** Session checks a user caused this minute: `wx:checksession-rate:<userId>:<minute>`. */
  checkSessionRate: 'wx:checksession-rate:',
  /** A message push's (timestamp, nonce) already accepted (wechat-auth/events): `wx:event-nonce:<sha256>`. */
  wechatEventNonce: 'wx:event-nonce:',
  /** A `wxa_media_check` verdict, kept 1 h for a profile update still committing (wechat-auth/content): `wx:media-verdict:<trace_id>`. */
  mediaVerdict: 'wx:media-verdict:',
  /** Paid phone lookups of one person today: `phone:person:<o|u>:<hmac>:<day>`. */
  phonePerson: 'phone:person:',
  /** Paid phone lookups of one app today: `phone:app:<appid>:<day>`. */
  phoneApp: 'phone:app:',
  /** A browser login's state, sealed (wechat-auth/web-oauth): `web:state:<sha256 of state>`. */
  webOAuthState: 'web:state:',
  /** Its callback: claimed, then its sealed answer for a repeat within 60 s: `web:callback:<sha256 of state>`. */
  webOAuthCallback: 'web:callback:',
  /** A one-time login ticket's sealed login answer (wechat-auth/tickets): `web:ticket:<sha256 of ticket>`. */
  loginTicket: 'web:ticket:',
  /** A link ticket (users): `idlink:<sha256 of the ticket>` → the user id; single use, 5 minutes. */
  linkTicket: 'idlink:',
  /** The sandbox's stand-in WeChat (wechat-auth/sandbox), each its own family. */
  sandboxUser: 'sandbox:user:',
  sandboxCode: 'sandbox:code:',
  sandboxCodeUsed: 'sandbox:code-used:',
  sandboxPhoneCode: 'sandbox:phone-code:',
  sandboxPhoneCodeUsed: 'sandbox:phone-code-used:',
  sandboxRisk: 'sandbox:risk:',
  sandboxStable: 'sandbox:stable:',
  sandboxStableNext: 'sandbox:stable-next:',
  sandboxToken: 'sandbox:token:',
  sandboxTokenEpoch: 'sandbox:token-epoch:',
  sandboxForceGap: 'sandbox:force-gap:',
  sandboxForceCount: 'sandbox:force-count:',
  sandboxOAuthCode: 'sandbox:oauth-code:',
  sandboxOAuthCodeUsed: 'sandbox:oauth-code-used:',
  sandboxSnsToken: 'sandbox:sns-token:',
} as const;

export type KeyFamily = keyof typeof KEY_PREFIXES;

const P = KEY_PREFIXES;

/** What the revocation replica scans at start: the revocation families and nothing else. */
export const REVOCATION_SCAN_PREFIX = 'revoke:';

/** Publish/subscribe channels (a namespace of their own in Redis; the store prefixes them too). */
export const CHANNELS = {
  /** Every revocation, to every instance's replica. */
  revocations: 'revocations',
  /** Every 45011 stop (wechat-auth/upstream), to every instance's copy. */
  wechatQuota: 'wx:quota',
} as const;

/** Key builders, one per family. Arguments are joined with `:`; none of them may be attacker-chosen raw text. */
export const StoreKeys = {
  throttle: (throttler: string, tracker: string) => `${P.throttle}${throttler}:${tracker}`,
  serviceClientRate: (route: string, clientId: string) => `${P.serviceClientRate}${route}:${clientId}`,
  clientLoginFailuresByIp: (ip: string) => `${P.clientLoginFailuresByIp}${ip}`,
  clientLoginFailuresById: (idHash: string) => `${P.clientLoginFailuresById}${idHash}`,
  revokeUser: (userId: string) => `${P.revokeUser}${userId}`,
  revokeSession: (sessionId: string) => `${P.revokeSession}${sessionId}`,
  refreshSuccessor: (presentedHash: string) => `${P.refreshSuccessor}${presentedHash}`,
  // One hash tag ({<hash>}) for the claim and the kept answer: the ledger reads both in one script, which a
  // Redis Cluster runs only on keys of one slot. Keys up to the tag's `}` are equal, so any prefix keeps them together.
  loginCodeClaim: (codeHash: string) => `${P.loginCode}{${codeHash}}`,
  loginCodeAnswer: (codeHash: string) => `${P.loginCode}{${codeHash}}:answer`,
  loginCodeUnsure: (codeHash: string) => `${P.loginCodeUnsure}${codeHash}`,
  interfaceToken: (appid: string) => `${P.interfaceToken}${appid}`,
  interfaceTokenLock: (appid: string) => `${P.interfaceTokenLock}${appid}`,
  forceRefreshGap: (appid: string) => `${P.forceRefreshGap}${appid}`,
  /** A `Quota` key: the period is appended by the quota. */
  forceRefreshDaily: (appid: string) => `${P.forceRefreshDaily}${appid}`,
  wechatMinuteQuota: (appid: string, api: string) => `${P.wechatMinuteQuota}${appid}:${api}`,
  checkSession: (appid: string, sessionTag: string) => `${P.checkSession}${appid}:${sessionTag}`,
  /** A `Quota` key: the period is appended by the quota. */
  checkSessionRate: (userId: string) => `${P.checkSessionRate}${userId}`,
  wechatEventNonce: (tag: string) => `${P.wechatEventNonce}${tag}`,
  /** `traceId`: WeChat's trace id from a verified push, checked against TRACE_ID (no personal data). */
  mediaVerdict: (traceId: string) => `${P.mediaVerdict}${traceId}`,
  /** A `Quota` key. `kind`: `o` for an app's openid, `u` for a unionid; `tag`: their keyed hash. */
  phonePerson: (kind: 'o' | 'u', tag: string) => `${P.phonePerson}${kind}:${tag}`,
  /** A `Quota` key: the period is appended by the quota. */
  phoneApp: (appid: string) => `${P.phoneApp}${appid}`,
  webOAuthState: (stateHash: string) => `${P.webOAuthState}${stateHash}`,
  webOAuthCallback: (stateHash: string) => `${P.webOAuthCallback}${stateHash}`,
  loginTicket: (ticketHash: string) => `${P.loginTicket}${ticketHash}`,
  linkTicket: (ticketHash: string) => `${P.linkTicket}${ticketHash}`,
  sandboxUser: (appid: string, openid: string) =>
    `${P.sandboxUser}${encodeURIComponent(appid)}:${encodeURIComponent(openid)}`,
  sandboxCode: (code: string) => `${P.sandboxCode}${code}`,
  sandboxCodeUsed: (code: string) => `${P.sandboxCodeUsed}${code}`,
  sandboxPhoneCode: (code: string) => `${P.sandboxPhoneCode}${code}`,
  sandboxPhoneCodeUsed: (code: string) => `${P.sandboxPhoneCodeUsed}${code}`,
  sandboxRisk: (appid: string, openid: string) =>
    `${P.sandboxRisk}${encodeURIComponent(appid)}:${encodeURIComponent(openid)}`,
  sandboxStable: (appid: string) => `${P.sandboxStable}${appid}`,
  sandboxStableNext: (appid: string, epoch: number, current: string) =>
    `${P.sandboxStableNext}${appid}:${epoch}:${current}`,
  sandboxToken: (token: string) => `${P.sandboxToken}${token}`,
  sandboxTokenEpoch: (appid: string) => `${P.sandboxTokenEpoch}${appid}`,
  sandboxForceGap: (appid: string) => `${P.sandboxForceGap}${appid}`,
  /** A `Quota` key: the period is appended by the quota. */
  sandboxForceCount: (appid: string) => `${P.sandboxForceCount}${appid}`,
  sandboxOAuthCode: (code: string) => `${P.sandboxOAuthCode}${code}`,
  sandboxOAuthCodeUsed: (code: string) => `${P.sandboxOAuthCodeUsed}${code}`,
  sandboxSnsToken: (token: string) => `${P.sandboxSnsToken}${token}`,
} as const satisfies Record<string, (...args: never[]) => string>;
