import { randomBytes } from 'node:crypto';
import {
  assertDistinctNames,
  ConfigError,
  defineSlice,
  flag,
  integer,
  ParsedValues,
  text,
} from './config-slice';
import { CONFIG_SLICES, loadConfig } from './load-config';

const declared = CONFIG_SLICES.flatMap((slice) =>
  Object.entries(slice.variables).map(([name, variable]) => ({ name, slice: slice.title, variable })),
);

describe('config slices', () => {
  it('declare every variable with a description and a format', () => {
    for (const { name, variable } of declared) {
      expect({ name, description: variable.doc.description.length > 0 }).toEqual({ name, description: true });
      expect({ name, format: variable.doc.format.length > 0 }).toEqual({ name, format: true });
    }
  });

  it('split operator settings (about 20) from advanced tuning', () => {
    const operator = declared.filter((d) => d.variable.doc.operator).map((d) => d.name);
    expect(operator.length).toBeGreaterThanOrEqual(15);
    expect(operator.length).toBeLessThanOrEqual(30);
    expect(operator).toEqual(
      expect.arrayContaining(['NODE_ENV', 'DATABASE_URL', 'PUBLIC_URL', 'WECHAT_SECRET']),
    );
  });

  it('mark the variables that carry secrets', () => {
    expect(declared.filter((d) => d.variable.doc.secret).map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'JWT_PRIVATE_KEYS',
        'JWT_SECRET',
        'JWT_PREVIOUS_SECRETS',
        'SERVICE_CLIENTS',
        'SESSION_KEY_ENCRYPTION_KEY',
        'WECHAT_SECRET',
        'WECHAT_APPS',
        'DATABASE_URL',
        'REDIS_URL',
      ]),
    );
  });

  // Whatever rule a secret's value breaks, in whichever environment, the answer names the rule, not the value.
  it.each(['production', 'test'])('never print a secret value (%s), however wrong it is', (env) => {
    const secrets = declared.filter((d) => d.variable.doc.secret);
    for (const { name } of secrets)
      for (const value of [
        `not valid ${randomBytes(6).toString('hex')}`,
        `x:${randomBytes(6).toString('hex')}`,
        'mysql://app:Pa55-word-9f8e@db host/app',
        randomBytes(70_000).toString('hex'),
      ]) {
        let printed: string;
        try {
          printed = loadConfig({ NODE_ENV: env, [name]: value }).warnings.join('\n');
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          printed = e.message;
        }
        const secretPart = value.includes(':') ? value.slice(value.indexOf(':') + 1) : value;
        expect({ name, echoed: printed.includes(value) || printed.includes(secretPart) }).toEqual({
          name,
          echoed: false,
        });
      }
  });

  it('refuses two slices declaring the same variable', () => {
    const a = defineSlice({
      title: 'a',
      variables: { X: flag({ default: true, description: 'x' }) },
      build: () => ({}),
    });
    const b = defineSlice({
      title: 'b',
      variables: { X: flag({ default: true, description: 'x' }) },
      build: () => ({}),
    });
    expect(() => assertDistinctNames([a, b])).toThrow('X is declared by both "a" and "b"');
    expect(() => assertDistinctNames(CONFIG_SLICES)).not.toThrow();
  });
});

describe('variable parsers', () => {
  const slice = defineSlice({
    title: 't',
    variables: {
      N: integer({ default: 5, min: 1, max: 10, description: 'n' }),
      MS: integer({
        default: 100,
        min: 50,
        max: 500,
        unit: 'ms',
        mustBe: 'whole milliseconds',
        description: 'ms',
      }),
      B: flag({ defaultDoc: 'depends', description: 'b' }),
      T: text({
        format: 'ab',
        pattern: /^a+b$/,
        invalid: 'must be some a then b',
        maxLength: 5,
        defaultDoc: '',
        description: 't',
      }),
    },
    build: () => ({}),
  });
  const parse = (raw: Record<string, string | undefined>) => ParsedValues.parse([slice], raw).of(slice);
  const problems = (raw: Record<string, string>): string[] => {
    try {
      parse(raw);
    } catch (e) {
      return (e as ConfigError).problems;
    }
    return [];
  };

  it('applies defaults for unset and empty values, and parses set ones', () => {
    expect(parse({})).toEqual({ N: 5, MS: 100, B: undefined, T: undefined });
    expect(parse({ N: '', B: '', T: '' })).toEqual({ N: 5, MS: 100, B: undefined, T: undefined });
    expect(parse({ N: ' 7 ', MS: '50', B: 'Off', T: 'aab' })).toEqual({ N: 7, MS: 50, B: false, T: 'aab' });
    expect(parse({ B: 'yes' }).B).toBe(true);
  });

  it('says which integer rule broke, or gives the one message when the declaration has one', () => {
    expect(problems({ N: 'ten' })).toEqual(['N must be an integer number']);
    expect(problems({ N: '2.5' })).toEqual(['N must be an integer number']);
    expect(problems({ N: '0' })).toEqual(['N must not be less than 1']);
    expect(problems({ N: '11' })).toEqual(['N must not be greater than 10']);
    for (const v of ['x', '49', '501', '1e3', '-60'])
      expect(problems({ MS: v })).toEqual(['MS must be whole milliseconds from 50 to 500']);
  });

  it('lists every problem at once, never the values', () => {
    expect(problems({ N: '0', MS: '1', B: 'maybe', T: 'aaaab-secret' })).toEqual([
      'N must not be less than 1',
      'MS must be whole milliseconds from 50 to 500',
      'B must be a boolean value',
      'T must be some a then b',
    ]);
    expect(problems({ T: 'aaaaab' })).toEqual(['T must be shorter than or equal to 5 characters']);
  });

  it('documents range, unit and default', () => {
    expect(slice.variables.MS.doc).toEqual({
      description: 'ms',
      operator: false,
      secret: false,
      default: '`100`',
      format: '50–500 ms',
    });
    expect(slice.variables.B.doc.default).toBe('depends');
  });
});
