import { KEY_PREFIXES, REVOCATION_SCAN_PREFIX, StoreKeys, type KeyFamily } from './store-keys';

const prefixes = Object.entries(KEY_PREFIXES) as Array<[KeyFamily, string]>;

/** One key of each builder, with sample arguments. */
const BUILT: Record<keyof typeof StoreKeys, string> = {
  throttle: StoreKeys.throttle('login', 'ip'),
  serviceClientRate: StoreKeys.serviceClientRate('/oauth/introspect', 'c1'),
  clientLoginFailuresByIp: StoreKeys.clientLoginFailuresByIp('203.0.113.9'),
  clientLoginFailuresById: StoreKeys.clientLoginFailuresById('hash'),
  revokeUser: StoreKeys.revokeUser('u1'),
  revokeSession: StoreKeys.revokeSession('s1'),
  refreshSuccessor: StoreKeys.refreshSuccessor('ab'),
  loginCodeClaim: StoreKeys.loginCodeClaim('ab'),
  loginCodeAnswer: StoreKeys.loginCodeAnswer('ab'),
  loginCodeUnsure: StoreKeys.loginCodeUnsure('ab'),
  interfaceToken: StoreKeys.interfaceToken('wx1'),
  interfaceTokenLock: StoreKeys.interfaceTokenLock('wx1'),
  forceRefreshGap: StoreKeys.forceRefreshGap('wx1'),
  forceRefreshDaily: StoreKeys.forceRefreshDaily('wx1'),
  wechatMinuteQuota: StoreKeys.wechatMinuteQuota('wx1', 'jscode2session'),
  checkSession: StoreKeys.checkSession('wx1', 'tag'),
  checkSessionRate: StoreKeys.checkSessionRate('u1'),
  wechatEventNonce: StoreKeys.wechatEventNonce('ab'),
  mediaVerdict: StoreKeys.mediaVerdict('trace-1'),
  phonePerson: StoreKeys.phonePerson('o', 'tag'),
  phoneApp: StoreKeys.phoneApp('wx1'),
  linkTicket: StoreKeys.linkTicket('hash'),
  webOAuthState: StoreKeys.webOAuthState('ab'),
  webOAuthCallback: StoreKeys.webOAuthCallback('ab'),
  loginTicket: StoreKeys.loginTicket('ab'),
  sandboxUser: StoreKeys.sandboxUser('wx1', 'o1'),
  sandboxCode: StoreKeys.sandboxCode('c'),
  sandboxCodeUsed: StoreKeys.sandboxCodeUsed('c'),
  sandboxPhoneCode: StoreKeys.sandboxPhoneCode('c'),
  sandboxPhoneCodeUsed: StoreKeys.sandboxPhoneCodeUsed('c'),
  sandboxRisk: StoreKeys.sandboxRisk('wx1', 'o1'),
  sandboxStable: StoreKeys.sandboxStable('wx1'),
  sandboxStableNext: StoreKeys.sandboxStableNext('wx1', 1, 'none'),
  sandboxToken: StoreKeys.sandboxToken('t'),
  sandboxTokenEpoch: StoreKeys.sandboxTokenEpoch('wx1'),
  sandboxForceGap: StoreKeys.sandboxForceGap('wx1'),
  sandboxForceCount: StoreKeys.sandboxForceCount('wx1'),
  sandboxOAuthCode: StoreKeys.sandboxOAuthCode('c'),
  sandboxOAuthCodeUsed: StoreKeys.sandboxOAuthCodeUsed('c'),
  sandboxSnsToken: StoreKeys.sandboxSnsToken('t'),
};

/** The family each builder's keys must belong to: its own name, but for the two keys of one login code. */
const familyOf = (builder: keyof typeof StoreKeys): KeyFamily =>
  builder === 'loginCodeClaim' || builder === 'loginCodeAnswer' ? 'loginCode' : (builder as KeyFamily);
const SAMPLES = Object.entries(BUILT).map(
  ([builder, key]) => [builder, familyOf(builder as keyof typeof StoreKeys), key] as const,
);

describe('store key registry', () => {
  it('no prefix is the beginning of another (a prefix scan of one family never reads another)', () => {
    const overlaps: string[] = [];
    for (const [a, pa] of prefixes)
      for (const [b, pb] of prefixes)
        if (a !== b && pb.startsWith(pa)) overlaps.push(`${a} (${pa}) ⊂ ${b} (${pb})`);
    expect(overlaps).toEqual([]);
    expect(new Set(prefixes.map(([, p]) => p)).size).toBe(prefixes.length);
  });

  it('every prefix ends with a separator, so an id appended to one cannot continue another family', () => {
    expect(prefixes.filter(([, p]) => !p.endsWith(':'))).toEqual([]);
  });

  it('the revocation scan covers exactly the two revocation families', () => {
    const scanned = prefixes.filter(([, p]) => p.startsWith(REVOCATION_SCAN_PREFIX)).map(([f]) => f);
    expect(scanned.sort()).toEqual(['revokeSession', 'revokeUser']);
    // ...and no other family's key can fall under it either.
    const stray = SAMPLES.filter(
      ([, family, key]) => key.startsWith(REVOCATION_SCAN_PREFIX) !== scanned.includes(family),
    );
    expect(stray).toEqual([]);
  });

  it.each(SAMPLES)('%s builds keys under its own family only', (_builder, family, key) => {
    const owners = prefixes.filter(([, p]) => key.startsWith(p)).map(([f]) => f);
    expect(owners).toEqual([family]);
  });

  it('keeps the key strings existing deployments use (a rolling deploy must agree on them)', () => {
    expect(StoreKeys.revokeUser('u1')).toBe('revoke:user:u1');
    expect(StoreKeys.revokeSession('s1')).toBe('revoke:sid:s1');
    expect(StoreKeys.refreshSuccessor('h')).toBe('refresh:successor:h');
    expect(StoreKeys.loginCodeClaim('h')).toBe('wx:code:{h}');
    expect(StoreKeys.loginCodeAnswer('h')).toBe('wx:code:{h}:answer');
    expect(StoreKeys.loginCodeUnsure('h')).toBe('wx:unsure:h');
    expect(StoreKeys.interfaceTokenLock('wx1')).toBe('wx:token-lock:wx1');
    expect(StoreKeys.wechatMinuteQuota('wx1', 'api')).toBe('wx:quota:wx1:api');
    expect(StoreKeys.throttle('login', 'ip-1')).toBe('throttle:login:ip-1');
    expect(StoreKeys.phoneApp('wx1')).toBe('phone:app:wx1');
  });
});
