import type { DataSource } from 'typeorm';
import type { AuditEventInput, AuditService } from '../../audit/audit.service';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import {
  createInMemoryDataSource,
  createProfileModeration,
  createUsersService,
} from '../../testing/in-memory-database';
import { testConfig } from '../../testing/test-config';
import { ProfileChecks } from '../../users/profile-checks';
import { ProfileUpdate } from '../../users/profile-update';
import { User } from '../../users/user.entity';
import type { UsersService } from '../../users/users.service';
import { EventHandlers, type MediaCheckEvent } from '../events/event-handlers';
import { meaningOf, toAppException, type WechatEndpoint } from '../upstream/wechat-endpoint';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import type { WechatApi } from '../wechat-api';
import { ContentCheckService } from './content-check.service';
import { MediaCheckAsyncCall } from './media-check-async.endpoint';
import { MsgSecCheckCall, type TextVerdict } from './msg-sec-check.endpoint';

const ON = { WECHAT_CONTENT_CHECK: 'on', WECHAT_EVENT_TOKEN: 'unitPushToken1' };

/** WeChat as the service sees it through WechatApi: scripted answers per endpoint, every call recorded. */
class FakeWechatApi {
  readonly calls: { api: string; appid: string; input: unknown }[] = [];
  text: TextVerdict = { suggest: 'pass', label: 100 };
  traceIds: string[] = [];

  call(endpoint: WechatEndpoint<unknown, unknown>, app: { appid: string }, input: unknown): Promise<unknown> {
    this.calls.push({ api: endpoint.name, appid: app.appid, input });
    if (endpoint.name === 'msg_sec_check') return Promise.resolve(this.text);
    const traceId = this.traceIds.shift();
    return traceId ? Promise.resolve(traceId) : Promise.reject(new AppException('WX_UNAVAILABLE'));
  }
}

const verdict = (traceId: string, suggest: 'pass' | 'review' | 'risky', label = 100): MediaCheckEvent => ({
  appid: 'wxapp_one',
  trace_id: traceId,
  version: 2,
  errcode: 0,
  result: { suggest, label },
});

describe('ContentCheckService (fake WeChat, in-memory database, no network)', () => {
  let ds: DataSource;
  let clock: FakeClock;
  let users: UsersService;
  let wechat: FakeWechatApi;
  let audit: AuditEventInput[];
  let checks: ProfileChecks;
  let events: EventHandlers;
  let content: ContentCheckService;
  let profile: ProfileUpdate;
  let user: User;

  async function build(env: Record<string, string>): Promise<void> {
    ds = await createInMemoryDataSource();
    clock = new FakeClock();
    users = createUsersService(ds, clock);
    const moderation = createProfileModeration(ds, clock);
    wechat = new FakeWechatApi();
    audit = [];
    checks = new ProfileChecks();
    events = new EventHandlers();
    content = new ContentCheckService(
      testConfig(env),
      wechat as unknown as WechatApi,
      users,
      checks,
      moderation,
      events,
      new MemoryKvStore(clock),
      clock,
      { record: (e: AuditEventInput) => Promise.resolve(void audit.push(e)) } as unknown as AuditService,
    );
    content.onModuleInit();
    profile = new ProfileUpdate(users, checks, moderation);
    user = (await users.resolveIdentity({ appid: 'wxapp_one', openid: 'o-unit-1', sessionKey: 'a2V5' })).user;
  }
  const reload = async () => (await users.findById(user.id))!;
  // As the controller does: the caller's current row.
  const apply = async (patch: { nickname?: string | null; avatarUrl?: string | null }) =>
    profile.apply(await reload(), 'wxapp_one', patch);

  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
  });

  it('off (the default): registers nothing, saves as sent, never calls WeChat', async () => {
    await build({});
    expect(checks.current).toBeUndefined();
    await apply({ nickname: 'risky name', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(await reload()).toMatchObject({
      nickname: 'risky name',
      avatarUrl: 'https://cdn.example.com/a.png',
    });
    expect(wechat.calls).toEqual([]);
  });

  it('a risky nickname: 422 CONTENT_REJECTED with the label, nothing saved, audited; sent with the session app’s openid', async () => {
    await build(ON);
    await apply({ nickname: 'Old' });
    wechat.text = { suggest: 'risky', label: 20001 };
    const e = await apply({ nickname: 'New', avatarUrl: 'https://cdn.example.com/a.png' }).catch(
      (err) => err,
    );
    expect(e).toBeInstanceOf(AppException);
    expect(e).toMatchObject({ code: 'CONTENT_REJECTED', extras: { details: ['label:20001'] } });
    expect(e.getStatus()).toBe(422);
    expect(await reload()).toMatchObject({ nickname: 'Old', avatarUrl: null, avatarStatus: 'none' });
    expect(wechat.calls.map((c) => c.api)).toEqual(['msg_sec_check', 'msg_sec_check']);
    expect(wechat.calls[1]).toEqual({
      api: 'msg_sec_check',
      appid: 'wxapp_one',
      input: { content: 'New', openid: 'o-unit-1' },
    });
    expect(audit).toEqual([
      expect.objectContaining({
        type: 'profile.content_rejected',
        userId: user.id,
        details: { contentField: 'nickname', contentLabel: 20001 },
      }),
    ]);
  });

  it('a nickname for review is saved and flagged; an unchanged one is not sent again', async () => {
    await build(ON);
    wechat.text = { suggest: 'review', label: 21000 };
    await apply({ nickname: 'Maybe' });
    expect(await reload()).toMatchObject({ nickname: 'Maybe', nicknameReview: true });
    await apply({ nickname: 'Maybe' });
    expect(wechat.calls).toHaveLength(1);
  });

  it('an avatar is pending until its verdict; risky drops it, and a repeated or late pass cannot bring it back', async () => {
    await build(ON);
    wechat.traceIds = ['trace-a', 'trace-b'];
    await apply({ avatarUrl: 'https://cdn.example.com/ok.png' });
    expect(await reload()).toMatchObject({
      avatarUrl: null,
      avatarStatus: 'pending',
      avatarTraceId: 'trace-a',
    });
    await content.onMediaCheck(verdict('trace-a', 'pass'));
    expect(await reload()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/ok.png',
      avatarStatus: 'approved',
    });

    await apply({ avatarUrl: 'https://cdn.example.com/bad.png' });
    await content.onMediaCheck(verdict('trace-b', 'risky', 20002));
    await content.onMediaCheck(verdict('trace-b', 'risky', 20002));
    await content.onMediaCheck(verdict('trace-b', 'pass'));
    expect(await reload()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/ok.png',
      avatarPendingUrl: null,
      avatarStatus: 'rejected',
    });
    expect(audit.filter((a) => a.type === 'profile.content_rejected')).toHaveLength(1);
  });

  it('a verdict pushed before the update wrote its row still settles it (the verdict is remembered)', async () => {
    await build(ON);
    await content.onMediaCheck(verdict('trace-early', 'review', 21000));
    wechat.traceIds = ['trace-early'];
    await apply({ avatarUrl: 'https://cdn.example.com/early.png' });
    expect(await reload()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/early.png',
      avatarStatus: 'approved',
      avatarReview: true,
    });
  });

  it('a push without a usable verdict (errcode, no result, bad trace id) changes nothing', async () => {
    await build(ON);
    wechat.traceIds = ['trace-x'];
    await apply({ avatarUrl: 'https://cdn.example.com/x.png' });
    await content.onMediaCheck({ ...verdict('trace-x', 'pass'), errcode: -1 });
    await content.onMediaCheck({ ...verdict('trace-x', 'pass'), result: { suggest: 'maybe' } });
    await content.onMediaCheck({ ...verdict('trace-x', 'pass'), trace_id: 'bad trace id' });
    expect(await reload()).toMatchObject({ avatarUrl: null, avatarStatus: 'pending' });
  });

  it('a failed media_check_async leaves the profile as it was', async () => {
    await build(ON);
    await expect(
      apply({ nickname: 'Kept?', avatarUrl: 'https://cdn.example.com/y.png' }),
    ).rejects.toMatchObject({
      code: 'WX_UNAVAILABLE',
    });
    expect(await reload()).toMatchObject({ nickname: null, avatarUrl: null, avatarStatus: 'none' });
  });

  it('the avatar already shown is kept without a check, dropping a pending one; null clears both', async () => {
    await build(ON);
    wechat.traceIds = ['t1', 't2'];
    await apply({ avatarUrl: 'https://cdn.example.com/one.png' });
    await content.onMediaCheck(verdict('t1', 'pass'));
    await apply({ avatarUrl: 'https://cdn.example.com/two.png' });
    await apply({ avatarUrl: 'https://cdn.example.com/one.png' });
    expect(await reload()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/one.png',
      avatarPendingUrl: null,
      avatarStatus: 'none',
    });
    await content.onMediaCheck(verdict('t2', 'pass'));
    expect((await reload()).avatarUrl).toBe('https://cdn.example.com/one.png');
    await apply({ avatarUrl: null });
    expect(await reload()).toMatchObject({ avatarUrl: null, avatarStatus: 'none' });
    expect(wechat.calls.filter((c) => c.api === 'media_check_async')).toHaveLength(2);
  });

  describe('a session of an Official Account, website or mobile app (content checks are mini-program APIs)', () => {
    const WITH_OA = { ...ON, WECHAT_APPS: 'wxapp_two:secret-two,wxoa_one:secret-oa:oa' };

    it('checks with the user’s identity in a mini program, never the session app’s', async () => {
      await build(WITH_OA);
      const oa = await users.resolveIdentity({
        kind: 'oa',
        appid: 'wxoa_one',
        openid: 'o-oa',
        unionid: 'u-1',
      });
      // The same person in a mini program (same unionid): one user, two identities.
      await users.resolveIdentity({
        appid: 'wxapp_two',
        openid: 'o-two',
        unionid: 'u-1',
        sessionKey: 'a2V5',
      });
      const me = (await users.findById(oa.user.id))!;
      wechat.traceIds = ['trace-oa'];
      await profile.apply(me, 'wxoa_one', { nickname: 'Fine', avatarUrl: 'https://cdn.example.com/oa.png' });
      expect(wechat.calls).toEqual([
        { api: 'msg_sec_check', appid: 'wxapp_two', input: { content: 'Fine', openid: 'o-two' } },
        {
          api: 'media_check_async',
          appid: 'wxapp_two',
          input: { mediaUrl: 'https://cdn.example.com/oa.png', openid: 'o-two' },
        },
      ]);
    });

    it('a user without a mini-program identity: 409 NO_WECHAT_SESSION, nothing saved, WeChat not called', async () => {
      await build(WITH_OA);
      const oaOnly = (await users.resolveIdentity({ kind: 'oa', appid: 'wxoa_one', openid: 'o-oa-only' }))
        .user;
      for (const patch of [{ nickname: 'Name' }, { avatarUrl: 'https://cdn.example.com/z.png' }]) {
        const e = await profile.apply(oaOnly, 'wxoa_one', patch).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(AppException);
        expect(e).toMatchObject({
          code: 'NO_WECHAT_SESSION',
          message: expect.stringContaining('mini program'),
        });
        expect((e as AppException).getStatus()).toBe(409);
      }
      expect(wechat.calls).toEqual([]);
      expect(await users.findById(oaOnly.id)).toMatchObject({
        nickname: null,
        avatarUrl: null,
        avatarStatus: 'none',
      });
    });
  });

  it('WeChat’s 40003 and 43104 (openid not the app’s) and 61010 are 409 NO_WECHAT_SESSION, not a 503 to retry', () => {
    for (const endpoint of [new MsgSecCheckCall(), new MediaCheckAsyncCall()])
      for (const errcode of [40003, 43104, 61010]) {
        const meaning = meaningOf(endpoint as WechatEndpoint<unknown, unknown>, errcode);
        expect(meaning).toMatchObject({ error: 'NO_WECHAT_SESSION' });
        expect(meaning?.retryable).toBeFalsy();
        const e = toAppException(new WechatUpstreamError('errcode', { errcode }), meaning, 0);
        expect([e.code, e.getStatus()]).toEqual(['NO_WECHAT_SESSION', 409]);
      }
  });
});
