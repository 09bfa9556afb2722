import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { VALIDATION_OPTIONS } from '../../../common/validation/validate-body';
import { DecryptRequest } from './decrypt.request';

const SIG = '75e81ceda165f4ffa64f4068af58c64b8f54b88c';
const base = { encryptedData: 'QUJD', iv: 'r7BXXKkLb8qrSNn05n0qiA==' };

async function problems(body: object): Promise<string[]> {
  const errors = await validate(plainToInstance(DecryptRequest, body), VALIDATION_OPTIONS);
  return errors.flatMap((e) => Object.values(e.constraints ?? {}));
}

describe('DecryptRequest', () => {
  it.each<[string, object]>([
    ['encryptedData and iv', base],
    ['with rawData and signature', { ...base, rawData: '{"a":1}', signature: SIG }],
    [
      'base64 damaged by form decoding (spaces: repaired later, not refused here)',
      { encryptedData: 'a b/', iv: 'r7BX Kkb8qrSNn05n0qiA==' },
    ],
    ['encryptedData at its 12288-character limit', { ...base, encryptedData: 'A'.repeat(12288) }],
    ['iv at its 64-character limit', { ...base, iv: 'A'.repeat(64) }],
    ['rawData at its 3072-character limit', { ...base, rawData: 'x'.repeat(3072), signature: SIG }],
  ])('accepts %s', async (_label, body) => {
    expect(await problems(body)).toEqual([]);
  });

  it.each<[string, object, RegExp]>([
    ['no encryptedData', { iv: base.iv }, /encryptedData/],
    ['an empty encryptedData', { ...base, encryptedData: '' }, /encryptedData/],
    ['a numeric encryptedData', { ...base, encryptedData: 1234 }, /encryptedData/],
    ['encryptedData over 12288 characters', { ...base, encryptedData: 'A'.repeat(12289) }, /encryptedData/],
    ['no iv', { encryptedData: base.encryptedData }, /iv/],
    ['iv over 64 characters', { ...base, iv: 'A'.repeat(65) }, /iv/],
    ['rawData without signature', { ...base, rawData: '{}' }, /sent together/],
    ['signature without rawData', { ...base, signature: SIG }, /sent together/],
    ['a null rawData with a signature', { ...base, rawData: null, signature: SIG }, /sent together/],
    ['rawData over 3072 characters', { ...base, rawData: 'x'.repeat(3073), signature: SIG }, /rawData/],
    ['an empty rawData', { ...base, rawData: '', signature: SIG }, /rawData/],
    ['an uppercase signature', { ...base, rawData: '{}', signature: SIG.toUpperCase() }, /lowercase hex/],
    ['a 39-character signature', { ...base, rawData: '{}', signature: SIG.slice(1) }, /lowercase hex/],
    ['an unknown field', { ...base, sessionKey: 'x' }, /sessionKey/],
  ])('refuses %s', async (_label, body, message) => {
    const found = await problems(body);
    expect(found.join('\n')).toMatch(message);
  });

  it('never echoes submitted values in its messages', async () => {
    const found = await problems({ ...base, iv: 'SECRET'.repeat(20) });
    expect(found.join('\n')).not.toContain('SECRET');
  });
});
