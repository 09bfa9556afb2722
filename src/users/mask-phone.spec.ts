import { maskPhone } from './mask-phone';

describe('maskPhone', () => {
  it('keeps the first 3 and last 4 digits of a mainland number', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
  });

  it('ignores formatting and country prefixes, masking by digit count', () => {
    expect(maskPhone('+86 138-1234-5678')).toBe('861******5678');
    expect(maskPhone('(138) 1234 5678')).toBe('138****5678');
  });

  it('masks the middle of an 8-digit number with a single star', () => {
    expect(maskPhone('12345678')).toBe('123*5678');
  });

  it('masks every digit of numbers too short to show anything safely', () => {
    expect(maskPhone('1234567')).toBe('*******');
    expect(maskPhone('12')).toBe('**');
    expect(maskPhone('---')).toBe('');
  });

  it('returns null for no phone', () => {
    expect(maskPhone(null)).toBeNull();
    expect(maskPhone('')).toBeNull();
  });
});
