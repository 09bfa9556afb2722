import { KEY_PREFIXES, REVOCATION_SCAN_PREFIX, StoreKeys, type KeyFamily } from './store-keys';

const prefixes = Object.entries(KEY_PREFIXES) as Array<[KeyFamily, string]>;

/** One key of each builder, with sample arguments, and the family it must belong to. */
const SAMPLES: Record<keyof typeof StoreKeys, [family: KeyFamily, key: string]> = {
  throttle: ['throttle', StoreKeys.throttle('login', 'ip')],
  serviceClientRate: ['serviceClientRate', StoreKeys.serviceClientRate('/oauth/introspect', 'c1')],
  clientLoginFailuresByIp: ['clientLoginFailuresByIp', StoreKeys.clientLoginFailuresByIp('203.0.113.9')],
  clientLoginFailuresById: ['clientLoginFailuresById', StoreKeys.clientLoginFailuresById('hash')],
  revokeUser: ['revokeUser', StoreKeys.revokeUser('u1')],
  revokeSession: ['revokeSession', StoreKeys.revokeSession('s1')],
  refreshSuccessor: ['refreshSuccessor', StoreKeys.refreshSuccessor('ab')],
  loginCodeClaim: ['loginCode', StoreKeys.loginCodeClaim('ab')],
  loginCodeAnswer: ['loginCode', StoreKeys.loginCodeAnswer('ab')],
  loginCodeUnsure: ['loginCodeUnsure', StoreKeys.loginCodeUnsure('ab')],
  interfaceToken: ['interfaceToken', StoreKeys.interfaceToken('wx1')],
  interfaceTokenLock: ['interfaceTokenLock', StoreKeys.interfaceTokenLock('wx1')],
  forceRefreshGap: ['forceRefreshGap', StoreKeys.forceRefreshGap('wx1')],
  forceRefreshDaily: ['forceRefreshDaily', StoreKeys.forceRefreshDaily('wx1')],
  wechatMinuteQuota: ['wechatMinuteQuota', StoreKeys.wechatMinuteQuota('wx1', 'jscode2session')],
  checkSession: ['checkSession', StoreKeys.checkSession('wx1', 'tag')],
  checkSessionRate: ['checkSessionRate', StoreKeys.checkSessionRate('u1')],
  wechatEventNonce: ['wechatEventNonce', StoreKeys.wechatEventNonce('ab')],
  mediaVerdict: ['mediaVerdict', StoreKeys.mediaVerdict('trace-1')],
  phonePerson: ['phonePerson', StoreKeys.phonePerson('o', 'tag')],
  phoneApp: ['phoneApp', StoreKeys.phoneApp('wx1')],
  linkTicket: ['linkTicket', StoreKeys.linkTicket('hash')],
  webOAuthState: ['webOAuthState', StoreKeys.webOAuthState('ab')],
  webOAuthCallback: ['webOAuthCallback', StoreKeys.webOAuthCallback('ab')],
  loginTicket: ['loginTicket', StoreKeys.loginTicket('ab')],
  sandboxUser: ['sandboxUser', StoreKeys.sandboxUser('wx1', 'o1')],
  sandboxCode: ['sandboxCode', StoreKeys.sandboxCode('c')],
  sandboxCodeUsed: ['sandboxCodeUsed', StoreKeys.sandboxCodeUsed('c')],
  sandboxPhoneCode: ['sandboxPhoneCode', StoreKeys.sandboxPhoneCode('c')],
  sandboxPhoneCodeUsed: ['sandboxPhoneCodeUsed', StoreKeys.sandboxPhoneCodeUsed('c')],
  sandboxRisk: ['sandboxRisk', StoreKeys.sandboxRisk('wx1', 'o1')],
  sandboxStable: ['sandboxStable', StoreKeys.sandboxStable('wx1')],
  sandboxStableNext: ['sandboxStableNext', StoreKeys.sandboxStableNext('wx1', 1, 'none')],
  sandboxToken: ['sandboxToken', StoreKeys.sandboxToken('t')],
  sandboxTokenEpoch: ['sandboxTokenEpoch', StoreKeys.sandboxTokenEpoch('wx1')],
  sandboxForceGap: ['sandboxForceGap', StoreKeys.sandboxForceGap('wx1')],
  sandboxForceCount: ['sandboxForceCount', StoreKeys.sandboxForceCount('wx1')],
  sandboxOAuthCode: ['sandboxOAuthCode', StoreKeys.sandboxOAuthCode('c')],
  sandboxOAuthCodeUsed: ['sandboxOAuthCodeUsed', StoreKeys.sandboxOAuthCodeUsed('c')],
  sandboxSnsToken: ['sandboxSnsToken', StoreKeys.sandboxSnsToken('t')],
};

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
    const stray = Object.values(SAMPLES).filter(
      ([family, key]) => key.startsWith(REVOCATION_SCAN_PREFIX) !== scanned.includes(family),
    );
    expect(stray).toEqual([]);
  });

  it.each(Object.entries(SAMPLES))('%s builds keys under its own family only', (_builder, [family, key]) => {
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
