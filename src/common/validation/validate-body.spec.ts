import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, ValidateNested } from 'class-validator';
import { AppException } from '../errors/app.exception';
import { StrictValidationPipe, validateBody } from './validate-body';

class Inner {
  @IsString()
  name!: string;
}

class Outer {
  @IsString()
  code!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Inner)
  inner?: Inner;
}

class Base {
  @IsString()
  id!: string;
}

class Derived extends Base {
  @IsOptional()
  @IsInt()
  @Type(() => Number)
  page?: number;
}

/** The details of the VALIDATION_FAILED this throws (or a marker when it does not). */
async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(AppException);
    expect((e as AppException).code).toBe('VALIDATION_FAILED');
    return (e as AppException).extras.details;
  }
}

const PROTOTYPE_KEYS = ['valueOf', 'toString', 'hasOwnProperty', 'constructor', 'prototype', 'isPrototypeOf'];
const body = (key: string): Record<string, unknown> =>
  JSON.parse(`{"code":"abc",${JSON.stringify(key)}:1}`) as Record<string, unknown>;

describe('validateBody', () => {
  it('accepts declared keys', async () => {
    await expect(validateBody(Outer, { code: 'abc', inner: { name: 'n' } })).resolves.toBeInstanceOf(Outer);
  });

  it.each(PROTOTYPE_KEYS)('refuses an own key named %s', async (key) => {
    expect(await refusal(() => validateBody(Outer, body(key)))).toEqual([`property ${key} should not exist`]);
  });

  it('refuses every undeclared key at once, by name, never by value', async () => {
    const details = await refusal(() => validateBody(Outer, { code: 'abc', valueOf: 'v-secret', extra: 1 }));
    expect(details).toEqual(['property valueOf should not exist', 'property extra should not exist']);
    expect(JSON.stringify(details)).not.toContain('v-secret');
  });

  it('checks nested objects against their declared class', async () => {
    const nested = JSON.parse('{"code":"abc","inner":{"name":"n","toString":1}}') as unknown;
    expect(await refusal(() => validateBody(Outer, nested))).toEqual([
      'property inner.toString should not exist',
    ]);
  });

  it('still refuses non-objects', async () => {
    for (const value of [null, [], 'x', 1]) {
      expect(await refusal(() => validateBody(Outer, value))).toEqual(['body must be a JSON object']);
    }
  });
});

describe('StrictValidationPipe', () => {
  const pipe = new StrictValidationPipe();
  const meta = (metatype: ArgumentMetadata['metatype'], type: ArgumentMetadata['type'] = 'body') =>
    ({ type, metatype }) as ArgumentMetadata;

  it.each(PROTOTYPE_KEYS)('refuses a body or query key named %s', async (key) => {
    expect(await refusal(() => pipe.transform(body(key), meta(Outer)))).toEqual([
      `property ${key} should not exist`,
    ]);
    const query = Object.assign(Object.create(null) as object, { id: 'x', [key]: '1' });
    expect(await refusal(() => pipe.transform(query, meta(Derived, 'query')))).toEqual([
      `property ${key} should not exist`,
    ]);
  });

  it('knows inherited properties and still transforms', async () => {
    await expect(pipe.transform({ id: 'x', page: '2' }, meta(Derived, 'query'))).resolves.toEqual(
      Object.assign(new Derived(), { id: 'x', page: 2 }),
    );
  });

  it('leaves primitives and custom parameters alone', async () => {
    await expect(pipe.transform('abc', meta(String, 'param'))).resolves.toBe('abc');
    const user = { valueOf: 1 };
    await expect(pipe.transform(user, meta(Outer, 'custom'))).resolves.toBe(user);
  });
});
