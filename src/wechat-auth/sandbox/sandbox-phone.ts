import { StoreKeys } from '../../common/store/store-keys';
import { CODE_TTL_SECONDS, SANDBOX_ERRCODE, type SandboxContext, type WechatAnswer } from './sandbox-context';
import type { SandboxTokens } from './sandbox-tokens';

export interface MintedPhoneCode {
  code: string;
  expiresIn: number;
}

interface PhoneCodeRecord {
  appid: string;
  openid: string;
  purePhoneNumber: string;
  countryCode: string;
  /** When the user tapped the button (seconds); WeChat's watermark carries this, not the exchange time. */
  timestamp: number;
}

/** The getPhoneNumber button and getuserphonenumber: phone codes, exchanged with an interface token. */
export class SandboxPhone {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly tokens: SandboxTokens,
  ) {}

  /** See `SandboxWechat.mintPhoneCode`. */
  async mintPhoneCode(input: {
    appid?: string;
    openid: string;
    phoneNumber?: string;
    countryCode?: string;
  }): Promise<MintedPhoneCode> {
    const { ctx } = this;
    const code = ctx.random.bytes(32).toString('hex');
    ctx.issued('phoneCode', code);
    const record: PhoneCodeRecord = {
      appid: input.appid ?? ctx.defaultAppid,
      openid: input.openid,
      purePhoneNumber: input.phoneNumber ?? this.randomCnMobile(),
      countryCode: input.countryCode ?? '86',
      timestamp: ctx.clock.nowSeconds(),
    };
    ctx.issued('phoneNumber', record.purePhoneNumber);
    await ctx.saveCode(StoreKeys.sandboxPhoneCode(code), record);
    return { code, expiresIn: CODE_TTL_SECONDS };
  }

  /** `POST /wxa/business/getuserphonenumber?access_token=…` */
  async phoneNumber(q: URLSearchParams, body: unknown): Promise<WechatAnswer> {
    const { ctx } = this;
    const post = await this.tokens.tokenPost(q, body);
    if (typeof post === 'number') return ctx.error(post);
    const { appid, body: b } = post;
    if (b.code === undefined || b.code === '') return ctx.error(SANDBOX_ERRCODE.CODE_MISSING);
    if (typeof b.code !== 'string' || (b.openid !== undefined && typeof b.openid !== 'string')) {
      return ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    }
    const minted = await ctx.readJson<PhoneCodeRecord>(StoreKeys.sandboxPhoneCode(b.code));
    // Login codes live in another namespace: the wrong kind of code is simply invalid, like WeChat says.
    if (!minted || minted.appid !== appid) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    // Checked before the code is spent, so a mismatched call cannot burn the user's code.
    if (b.openid !== undefined && b.openid !== minted.openid) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    // A reused phone code is 40029 too (WeChat has no "phone code used" errcode).
    if (!(await ctx.spendCode(StoreKeys.sandboxPhoneCodeUsed(b.code)))) {
      return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    }
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        ...phoneFields(minted.purePhoneNumber, minted.countryCode),
        watermark: { timestamp: minted.timestamp, appid },
      },
    };
  }

  private randomCnMobile(): string {
    return `138${[...this.ctx.random.bytes(8)].map((b) => b % 10).join('')}`;
  }
}

/** `phoneNumber` carries the country prefix only for non-CN numbers, as WeChat sends it. */
export function phoneFields(purePhoneNumber: string, countryCode: string) {
  return {
    phoneNumber: countryCode === '86' ? purePhoneNumber : `+${countryCode}${purePhoneNumber}`,
    purePhoneNumber,
    countryCode,
  };
}
