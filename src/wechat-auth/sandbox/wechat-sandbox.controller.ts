import { All, Body, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { MintAppCodeRequest } from './mint-app-code.request';
import { MintCodeRequest } from './mint-code.request';
import { MintOpenDataRequest } from './mint-open-data.request';
import { MintPhoneCodeRequest } from './mint-phone-code.request';
import { SandboxController } from './sandbox-controller.decorator';
import {
  NoSandboxSessionError,
  SandboxWechat,
  UnknownSandboxAppError,
  type MintedAppCode,
  type PageAnswer,
  type MintedLoginCode,
  type MintedPhoneCode,
  type OpenData,
} from './sandbox-wechat';

const MOUNT = '/sandbox/wechat';

/**
 * Mounted only when WECHAT_SANDBOX is on (never in production); not part of the partner contract.
 * The mint routes play the mini program's side (wx.login, the phone button, open data); every other
 * path under /sandbox/wechat is WeChat's API, answered by SandboxWechat.
 */
@SandboxController('sandbox/wechat')
export class WechatSandboxController {
  constructor(private readonly sandbox: SandboxWechat) {}

  @Post('codes')
  @HttpCode(201)
  mint(@Body() body: MintCodeRequest): Promise<MintedLoginCode> {
    return this.sandbox.mintLoginCode(body ?? {});
  }

  /** A mobile app's "Log in with WeChat" code (for `POST /auth/wechat/app/login`). */
  @Post('app-codes')
  @HttpCode(201)
  async mintAppCode(@Body() body: MintAppCodeRequest): Promise<MintedAppCode> {
    return this.sandbox.mintAppCode(body).catch(refusedAs(UnknownSandboxAppError, 'UNKNOWN_APPID'));
  }

  @Post('phone-codes')
  @HttpCode(201)
  mintPhoneCode(@Body() body: MintPhoneCodeRequest): Promise<MintedPhoneCode> {
    return this.sandbox.mintPhoneCode(body);
  }

  @Post('open-data')
  @HttpCode(201)
  async mintOpenData(@Body() body: MintOpenDataRequest): Promise<OpenData> {
    return this.sandbox.mintOpenData(body).catch(refusedAs(NoSandboxSessionError, 'NO_WECHAT_SESSION'));
  }

  // WeChat's browser pages of web OAuth (the Official Account authorize page, the website QR page).
  @Get('connect/oauth2/authorize')
  async authorizePage(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await sendPage(reply, this.sandbox.oauthPage('authorize', searchOf(req), `${MOUNT}/connect/approve`));
  }

  @Get('connect/qrconnect')
  async qrPage(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await sendPage(reply, this.sandbox.oauthPage('qrconnect', searchOf(req), `${MOUNT}/connect/approve`));
  }

  /** The pages' form (GET: the API takes JSON bodies only). */
  @Get('connect/approve')
  async approve(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await sendPage(reply, await this.sandbox.oauthApprove(searchOf(req)));
  }

  // WeChat's API. The static routes above win over this wildcard in Fastify's router.
  @All('*')
  async wechat(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const url = new URL(req.url, 'http://sandbox');
    const answer = await this.sandbox.handle({
      method: req.method,
      path: url.pathname.slice(MOUNT.length) || '/',
      query: url.searchParams,
      body: req.body,
    });
    // Like WeChat: HTTP 200 for errors too, JSON labelled text/plain.
    await reply.status(answer.status).type('text/plain').send(JSON.stringify(answer.body));
  }
}

/** Rethrows the sandbox's refusal of kind `refusal` as the API's error `code`; any other error as it is. */
function refusedAs(refusal: new (...args: never[]) => Error, code: ErrorCode): (err: unknown) => never {
  return (err) => {
    if (err instanceof refusal) throw new AppException(code, { cause: err });
    throw err;
  };
}

function searchOf(req: FastifyRequest): URLSearchParams {
  return new URL(req.url, 'http://sandbox').searchParams;
}

async function sendPage(reply: FastifyReply, answer: PageAnswer): Promise<void> {
  if ('location' in answer) {
    await reply.status(302).header('cache-control', 'no-store').header('location', answer.location).send();
    return;
  }
  // The API's CSP (default-src 'none') suits these pages too: no script, no style; a form is allowed.
  if (answer.csp) reply.header('content-security-policy', answer.csp);
  await reply
    .status(200)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(answer.html);
}
