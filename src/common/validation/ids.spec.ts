import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';

import {
  IsPhoneCountryCode,
  IsPurePhoneNumber,
  IsUuidId,
  IsWechatAppid,
  IsWechatCode,
  IsWechatUserId,
} from './ids';

class Probe {
  @IsUuidId() id!: string;
  @IsWechatAppid() appid!: string;
  @IsWechatUserId() openid!: string;
  @IsWechatCode() code!: string;
  @IsPurePhoneNumber() phone!: string;
  @IsPhoneCountryCode() countryCode!: string;
}

const VALID = {
  id: '0B5E3F7A-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  appid: 'wx1234567890abcdef',
  openid: 'oU7dK5Hk_2V0-e3ZQ9aQ3jJx7fLs',
  code: '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
  phone: '13812345678',
  countryCode: '86',
};

async function problems(overrides: Record<string, unknown>): Promise<string[]> {
  const errors = await validate(plainToInstance(Probe, { ...VALID, ...overrides }));
  return errors.flatMap((e) => Object.values(e.constraints ?? {}));
}

describe('id formats (common/validation/ids.ts)', () => {
  it('accepts well-formed ids', async () => {
    expect(await problems({})).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a UUID without dashes', { id: '0b5e3f7a1c2d4e5f8a9b0c1d2e3f4a5b' }, 'id must be a UUID'],
    ['an appid with a dot', { appid: 'wx.app' }, 'appid must be 1-64 characters of [A-Za-z0-9_-]'],
    [
      'an appid of 65 characters',
      { appid: 'a'.repeat(65) },
      'appid must be 1-64 characters of [A-Za-z0-9_-]',
    ],
    ['an openid with a space', { openid: 'a b' }, 'openid must be 1-128 characters of [A-Za-z0-9_-]'],
    ['an empty openid', { openid: '' }, 'openid must be 1-128 characters of [A-Za-z0-9_-]'],
    ['a code of 129 characters', { code: 'c'.repeat(129) }, 'code must be 1-128 characters of [A-Za-z0-9_-]'],
    ['a phone with its country code', { phone: '+8613812345678' }, 'phone must be 4-20 digits'],
    ['a phone with full-width digits', { phone: '１３８１２３４５６７８' }, 'phone must be 4-20 digits'],
    ['a country code of 5 digits', { countryCode: '86000' }, 'countryCode must be 1-4 digits'],
    ['a number instead of a string', { phone: 13812345678 }, 'phone must be 4-20 digits'],
  ])('refuses %s, naming the property and never the value', async (_name, overrides, message) => {
    const found = await problems(overrides);
    expect(found).toEqual([message]);
  });

  it('shows each pattern (or format) in the OpenAPI document from the same decorator', () => {
    const api = (key: string) =>
      Reflect.getMetadata('swagger/apiModelProperties', Probe.prototype, key) as Record<string, unknown>;
    expect(api('id')).toMatchObject({ format: 'uuid' });
    expect(api('appid')).toMatchObject({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
    expect(api('openid')).toMatchObject({ pattern: '^[A-Za-z0-9_-]{1,128}$' });
    expect(api('phone')).toMatchObject({ pattern: '^[0-9]{4,20}$' });
  });
});
