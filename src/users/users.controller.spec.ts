import { Logger, ValidationPipe, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { PRINCIPAL } from '../common/auth/current-user.decorator';
import { FakeClock } from '../common/clock/fake-clock';
import { AllExceptionsFilter } from '../common/filters/all-exceptions.filter';
import { registerJsonBodyParser } from '../common/http/json-body-parser';
import { VALIDATION_OPTIONS, validationFailed } from '../common/validation/validate-body';
import {
  createInMemoryDataSource,
  createProfileModeration,
  createUsersService,
} from '../testing/in-memory-database';
import { ProfileChecks } from './profile-checks';
import { ProfileUpdate } from './profile-update';
import { User } from './user.entity';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

/** Stands in for AccessGuard: the caller is whoever `x-test-user` names. */
class HeaderPrincipalGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; [PRINCIPAL]?: AuthPrincipal }>();
    const userId = req.headers['x-test-user'];
    req[PRINCIPAL] = {
      userId,
      appid: 'wxapp_one',
      roles: ['user'],
      sessionId: 's',
      expiresAt: 0,
      issuedAt: 1,
      userEpoch: 0,
    };
    return true;
  }
}

describe('UsersController over HTTP (Fastify, the app’s body parser, validation pipe and error filter)', () => {
  let dataSource: DataSource;
  let users: UsersService;
  let app: NestFastifyApplication;
  let userId: string;
  let openids = 0;

  beforeAll(async () => {
    dataSource = await createInMemoryDataSource();
    const clock = new FakeClock();
    users = createUsersService(dataSource, clock);
    // No content check registered (WECHAT_CONTENT_CHECK=off): profile-update.spec.ts covers the other case.
    const moderation = createProfileModeration(dataSource, clock);
    const moduleRef = await Test.createTestingModule({
      controllers: [UsersController],
      providers: [
        { provide: UsersService, useValue: users },
        { provide: ProfileUpdate, useValue: new ProfileUpdate(users, new ProfileChecks(), moderation) },
        { provide: APP_GUARD, useClass: HeaderPrincipalGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      bodyParser: false,
      logger: false,
    });
    registerJsonBodyParser(app.getHttpAdapter().getInstance());
    // As configureApp (src/app.setup.ts) sets it up.
    app.useGlobalPipes(
      new ValidationPipe({ ...VALIDATION_OPTIONS, transform: true, exceptionFactory: validationFailed }),
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
  });

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    openids += 1;
    const { user } = await users.resolveIdentity({
      appid: 'wxapp_one',
      openid: `o-${openids}`,
      sessionKey: 'k',
    });
    userId = user.id;
  });

  afterEach(() => jest.restoreAllMocks());

  const patch = (body: unknown, as = userId) => {
    const req = request(app.getHttpServer()).patch('/users/me').set('x-test-user', as);
    return typeof body === 'string'
      ? req.set('content-type', 'application/json').send(body)
      : req.send(body as object);
  };
  const me = (as = userId) => request(app.getHttpServer()).get('/users/me').set('x-test-user', as);

  it('GET /users/me shows the masked phone and its country code', async () => {
    await users.bindPhone(userId, { purePhoneNumber: '13812345678', countryCode: '86' });
    const res = await me();
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      id: userId,
      nickname: null,
      avatarUrl: null,
      avatarStatus: 'none',
      phone: '138****5678',
      phoneCountryCode: '86',
      createdAt: expect.any(String),
    });
  });

  it('PATCH /users/me sets the profile and answers like GET /users/me', async () => {
    const res = await patch({ nickname: '  小明👍🏽  ', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      id: userId,
      nickname: '小明👍🏽',
      avatarUrl: 'https://cdn.example.com/a.png',
      avatarStatus: 'none',
      phone: null,
      phoneCountryCode: null,
      createdAt: expect.any(String),
    });
    expect((await me()).body).toEqual(res.body);
  });

  it('keeps an absent field and clears a null one', async () => {
    await patch({ nickname: 'Ming', avatarUrl: 'https://cdn.example.com/a.png' });
    expect((await patch({ avatarUrl: null })).body).toMatchObject({ nickname: 'Ming', avatarUrl: null });
    expect((await patch({ nickname: null })).body).toMatchObject({ nickname: null, avatarUrl: null });
  });

  it.each([
    ['an empty body object', {}],
    ['no body at all', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"Ming"'],
    ['an unknown field', { nickname: 'Ming', admin: true }],
    ['an empty nickname', { nickname: '' }],
    ['a blank nickname', { nickname: '   ' }],
    ['33 code points', { nickname: 'a'.repeat(33) }],
    ['a number', { nickname: 42 }],
    ['a control character', { nickname: 'Mi\u0000ng' }],
    ['a newline', { nickname: 'Ming\n' }],
    ['a line separator', { nickname: 'Mi\u2028ng' }],
    ['a bidi override', { nickname: 'Mi\u202eng' }],
    ['an isolate', { nickname: 'Mi\u2066ng' }],
    ['a lone surrogate (JSON escape)', '{"nickname":"Mi\\ud83dng"}'],
    ['an http avatar', { avatarUrl: 'http://cdn.example.com/a.png' }],
    ['credentials in the avatar', { avatarUrl: 'https://u:p@cdn.example.com/a.png' }],
    ['whitespace in the avatar', { avatarUrl: 'https://cdn.example.com/a b.png' }],
    ['a long avatar', { avatarUrl: `https://cdn.example.com/${'a'.repeat(500)}` }],
  ])('refuses %s with 400 VALIDATION_FAILED and changes nothing', async (_, body) => {
    await patch({ nickname: 'Before' });
    const res = await patch(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect((await users.findById(userId))?.nickname).toBe('Before');
  });

  it('answers 401 for a user that no longer exists (deleted or merged away) and 403 for a disabled one', async () => {
    const gone = await patch({ nickname: 'x' }, '00000000-0000-0000-0000-000000000000');
    expect(gone.status).toBe(401);
    expect(gone.body.code).toBe('UNAUTHORIZED');
    expect(gone.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    await dataSource.getRepository(User).update({ id: userId }, { status: 'disabled' });
    const disabled = await patch({ nickname: 'x' });
    expect(disabled.status).toBe(403);
    expect(disabled.body.code).toBe('USER_DISABLED');
    expect((await users.findById(userId))?.nickname).toBeNull();
  });
});
