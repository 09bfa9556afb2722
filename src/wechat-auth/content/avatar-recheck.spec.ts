import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FakeClock } from '../../common/clock/fake-clock';
import {
  createInMemoryDataSource,
  createProfileModeration,
  createUsersService,
} from '../../testing/in-memory-database';
import { testConfig } from '../../testing/test-config';
import { ProfileModeration } from '../../users/profile-moderation';
import { User } from '../../users/user.entity';
import { AvatarRecheck, RECHECK_AFTER_MS } from './avatar-recheck';

const MINUTE = 60_000;
const ON = testConfig({ WECHAT_CONTENT_CHECK: 'on', WECHAT_EVENT_TOKEN: 'unitPushToken1' });

/** The 30-minute re-submit in fake time: no sleeping, no network (WeChat is a recorded function). */
describe('AvatarRecheck', () => {
  let ds: DataSource;
  let clock: FakeClock;
  let moderation: ProfileModeration;
  let userId: string;
  let submitted: string[];
  let failNext: boolean;
  const content = {
    submitAvatar: (_caller: { userId: string; appid: string }, url: string): Promise<string> => {
      if (failNext) return Promise.reject(new Error('WeChat down'));
      submitted.push(url);
      return Promise.resolve(`trace-${submitted.length + 1}`);
    },
    afterPending: () => Promise.resolve(),
  };
  const recheck = (config = ON) => new AvatarRecheck(config, moderation, content, clock);
  const row = () => ds.getRepository(User).findOneByOrFail({ id: userId });

  beforeEach(async () => {
    ds = await createInMemoryDataSource();
    clock = new FakeClock();
    moderation = createProfileModeration(ds, clock);
    const users = createUsersService(ds, clock);
    userId = (await users.resolveIdentity({ appid: 'wxapp_one', openid: 'o-recheck', sessionKey: 'a2V5' }))
      .user.id;
    submitted = [];
    failNext = false;
    await moderation.write(userId, {
      pendingAvatar: { url: 'https://cdn.example.com/a.png', appid: 'wxapp_one', traceId: 'trace-1' },
    });
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await ds.destroy();
  });

  it('re-submits exactly once after 30 minutes without a verdict, then leaves the avatar pending', async () => {
    clock.advance(RECHECK_AFTER_MS - MINUTE);
    expect(await recheck().runOnce()).toBe(0);
    clock.advance(MINUTE);
    expect(await recheck().runOnce()).toBe(1);
    expect(submitted).toEqual(['https://cdn.example.com/a.png']);
    expect(await row()).toMatchObject({
      avatarStatus: 'pending',
      avatarTraceId: 'trace-2',
      avatarResubmitted: true,
    });

    expect(await recheck().runOnce()).toBe(0);
    clock.advance(RECHECK_AFTER_MS + MINUTE);
    expect(await recheck().runOnce()).toBe(0);
    clock.advance(24 * 60 * MINUTE);
    expect(await recheck().runOnce()).toBe(0);
    expect(submitted).toHaveLength(1);
    expect(await row()).toMatchObject({
      avatarStatus: 'pending',
      avatarPendingUrl: 'https://cdn.example.com/a.png',
    });
  });

  it('two instances at once: the row claim lets one of them send', async () => {
    clock.advance(RECHECK_AFTER_MS);
    const counts = await Promise.all([recheck().runOnce(), recheck().runOnce(), recheck().runOnce()]);
    expect(counts.reduce((a, b) => a + b)).toBe(1);
    expect(submitted).toHaveLength(1);
  });

  it('a verdict that arrived meanwhile, or a new avatar, is not re-submitted', async () => {
    await moderation.settle('trace-1', { suggest: 'pass', label: 100 });
    clock.advance(RECHECK_AFTER_MS);
    expect(await recheck().runOnce()).toBe(0);
    await moderation.write(userId, {
      pendingAvatar: { url: 'https://cdn.example.com/b.png', appid: 'wxapp_one', traceId: 'trace-b' },
    });
    clock.advance(RECHECK_AFTER_MS - MINUTE);
    expect(await recheck().runOnce()).toBe(0);
    expect(submitted).toEqual([]);
  });

  it('a failed re-submission is not retried: left pending for an admin', async () => {
    clock.advance(RECHECK_AFTER_MS);
    failNext = true;
    expect(await recheck().runOnce()).toBe(0);
    failNext = false;
    clock.advance(RECHECK_AFTER_MS);
    expect(await recheck().runOnce()).toBe(0);
    expect(await row()).toMatchObject({
      avatarStatus: 'pending',
      avatarResubmitted: true,
      avatarTraceId: 'trace-1',
    });
  });

  it('does nothing with WECHAT_CONTENT_CHECK=off', async () => {
    clock.advance(RECHECK_AFTER_MS);
    expect(await recheck(testConfig()).runOnce()).toBe(0);
    expect(submitted).toEqual([]);
  });
});
