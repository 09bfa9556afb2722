import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { AuditEventInput, AuditService } from '../../audit/audit.service';
import type { TokenPair } from '../../token/token-pair';
import type { SessionService } from '../../token/sessions/session.service';
import { LinkTickets } from '../../users/link-tickets';
import type { User } from '../../users/user.entity';
import type { ResolvedUser, ResolveOptions, UsersService, WechatSession } from '../../users/users.service';
import { AppException } from '../../common/errors/app.exception';
import type { RiskCheck, RiskGate } from '../risk/risk-gate';
import { testConfig } from '../../testing/test-config';
import { SignInService, type ChannelIdentity } from './sign-in.service';

const USER = { id: 'user-1', roles: ['user'] } as unknown as User;
const TOKENS = { accessToken: 'jwt', refreshToken: 'r' } as TokenPair;
const IDENTITY: ChannelIdentity = { kind: 'app', appid: 'wxmobile', openid: 'o-1', unionid: 'u-1' };

function setup(riskEnabled = false, contentChecks = false) {
  const users = {
    resolveIdentity: jest
      .fn<Promise<ResolvedUser>, [WechatSession, ResolveOptions?]>()
      .mockResolvedValue({ user: USER, isNew: false }),
    identityExists: jest.fn<Promise<boolean>, [string, string]>().mockResolvedValue(false),
    recordRiskRank: jest.fn<Promise<void>, [string, string, number]>().mockResolvedValue(undefined),
  };
  const risk = {
    enabled: riskEnabled,
    check: jest.fn<Promise<number | undefined>, [RiskCheck]>().mockResolvedValue(0),
  };
  const sessions = {
    start: jest.fn<Promise<TokenPair>, [User, string]>().mockResolvedValue(TOKENS),
    end: jest.fn<Promise<void>, Parameters<SessionService['end']>>().mockResolvedValue(undefined),
  };
  const audit = { record: jest.fn<Promise<void>, [AuditEventInput]>().mockResolvedValue(undefined) };
  const tickets = new LinkTickets(new MemoryKvStore(new FakeClock()), new Random());
  const service = new SignInService(
    users as unknown as UsersService,
    sessions as unknown as SessionService,
    audit as unknown as AuditService,
    tickets,
    risk as unknown as RiskGate,
    testConfig(contentChecks ? { WECHAT_CONTENT_CHECK: 'on', WECHAT_EVENT_TOKEN: 'unitPushToken1' } : {}),
  );
  return { service, users, sessions, audit, tickets, risk };
}

describe('SignInService.signIn', () => {
  it('resolves the identity, ends merged-away users’ sessions, starts one and audits the login', async () => {
    const { service, users, sessions, audit } = setup();
    users.resolveIdentity.mockResolvedValue({
      user: USER,
      isNew: false,
      mergedUserIds: ['gone-1', 'gone-2'],
    });
    const login = await service.signIn(IDENTITY);
    expect(login).toEqual({ user: USER, appid: 'wxmobile', isNew: false, tokens: TOKENS });
    expect(users.resolveIdentity).toHaveBeenCalledWith(IDENTITY);
    expect(sessions.end.mock.calls.map(([target, reason]) => [target, reason])).toEqual([
      [{ userId: 'gone-1', all: 'delete' }, 'users_merged'],
      [{ userId: 'gone-2', all: 'delete' }, 'users_merged'],
    ]);
    expect(sessions.end.mock.invocationCallOrder[1]).toBeLessThan(sessions.start.mock.invocationCallOrder[0]);
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({ type: 'login.succeeded', userId: USER.id, appid: 'wxmobile' }),
    );
  });

  describe('a door’s profile (snsapi_userinfo, snsapi_login)', () => {
    const WITH_PROFILE: ChannelIdentity = {
      kind: 'oa',
      appid: 'wxoa',
      openid: 'o-oa',
      profile: { nickname: 'risky name', avatarUrl: 'https://thirdwx.qlogo.cn/risky.png' },
    };

    it('reaches the identity graph with content checks off (it fills a new user’s empty fields)', async () => {
      const { service, users } = setup();
      await service.signIn(WITH_PROFILE);
      expect(users.resolveIdentity).toHaveBeenCalledWith(WITH_PROFILE);
    });

    it('never reaches it with content checks on: nothing unchecked is copied into the user', async () => {
      const { service, users, tickets } = setup(false, true);
      await service.signIn(WITH_PROFILE);
      const { linkTicket } = await tickets.issue('ticket-user');
      await service.signIn(WITH_PROFILE, { linkTicket });
      const { profile: _, ...withoutProfile } = WITH_PROFILE;
      expect(users.resolveIdentity.mock.calls).toEqual([
        [withoutProfile],
        [withoutProfile, { linkToUserId: 'ticket-user' }],
      ]);
    });
  });

  it('redeems a link ticket and hands its user to the identity graph', async () => {
    const { service, users, tickets } = setup();
    const { linkTicket } = await tickets.issue('ticket-user');
    await service.signIn(IDENTITY, { linkTicket });
    expect(users.resolveIdentity).toHaveBeenCalledWith(IDENTITY, { linkToUserId: 'ticket-user' });
  });

  it('refuses a spent or unknown ticket before the identity graph is touched and no session starts', async () => {
    const { service, users, sessions, tickets } = setup();
    const { linkTicket } = await tickets.issue('ticket-user');
    await service.signIn(IDENTITY, { linkTicket });
    users.resolveIdentity.mockClear();
    await expect(service.signIn(IDENTITY, { linkTicket })).rejects.toMatchObject({
      code: 'LINK_TICKET_INVALID',
    });
    await expect(service.signIn(IDENTITY, { linkTicket: 'y'.repeat(43) })).rejects.toMatchObject({
      code: 'LINK_TICKET_INVALID',
    });
    expect(users.resolveIdentity).not.toHaveBeenCalled();
    expect(sessions.start).toHaveBeenCalledTimes(1);
  });
});

describe('SignInService.signIn: the risk check of a sign-up', () => {
  const MINI: ChannelIdentity = { kind: 'miniprogram', appid: 'wxapp_one', openid: 'o-new' };
  const context = { requestId: 'r-1', clientIp: '203.0.113.7' };

  it('off: neither the existence read nor the gate', async () => {
    const { service, users, risk } = setup(false);
    await service.signIn(MINI, { context });
    expect(users.identityExists).not.toHaveBeenCalled();
    expect(risk.check).not.toHaveBeenCalled();
    expect(users.recordRiskRank).not.toHaveBeenCalled();
  });

  it('a new mini-program identity is ranked before the graph writes, and the rank stored on it after', async () => {
    const { service, users, risk } = setup(true);
    risk.check.mockResolvedValue(2);
    await service.signIn(MINI, { context });
    expect(users.identityExists).toHaveBeenCalledWith('wxapp_one', 'o-new');
    expect(risk.check).toHaveBeenCalledWith(
      expect.objectContaining({ appid: 'wxapp_one', openid: 'o-new', scene: 'signup', context }),
    );
    expect(risk.check.mock.invocationCallOrder[0]).toBeLessThan(
      users.resolveIdentity.mock.invocationCallOrder[0],
    );
    expect(users.recordRiskRank).toHaveBeenCalledWith('wxapp_one', 'o-new', 2);
  });

  it('a returning identity, or another door’s, is not ranked', async () => {
    const { service, users, risk } = setup(true);
    users.identityExists.mockResolvedValue(true);
    await service.signIn(MINI, { context });
    users.identityExists.mockResolvedValue(false);
    await service.signIn(IDENTITY, { context });
    expect(risk.check).not.toHaveBeenCalled();
    expect(users.recordRiskRank).not.toHaveBeenCalled();
  });

  it('failed open (no rank): the login goes on and nothing is stored', async () => {
    const { service, users, sessions, risk } = setup(true);
    risk.check.mockResolvedValue(undefined);
    await service.signIn(MINI, { context });
    expect(sessions.start).toHaveBeenCalledTimes(1);
    expect(users.recordRiskRank).not.toHaveBeenCalled();
  });

  it('refused: no identity graph, no session, no audit of a login, and the link ticket is not spent', async () => {
    const { service, users, sessions, audit, risk, tickets } = setup(true);
    risk.check.mockRejectedValue(new AppException('RISK_BLOCKED'));
    const { linkTicket } = await tickets.issue('ticket-user');
    await expect(service.signIn(MINI, { context, linkTicket })).rejects.toMatchObject({
      code: 'RISK_BLOCKED',
    });
    expect(users.resolveIdentity).not.toHaveBeenCalled();
    expect(sessions.start).not.toHaveBeenCalled();
    expect(audit.record).not.toHaveBeenCalled();
    expect(await tickets.redeem(linkTicket)).toBe('ticket-user');
  });
});
