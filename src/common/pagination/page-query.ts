import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';
import { MAX_CURSOR_LENGTH } from './keyset';

/** 1 to 999 written as plain digits, no leading zero: what becomes a number (the rest stays and fails). */
const PLAIN_LIMIT = /^[1-9][0-9]{0,2}$/;

/**
 * The `limit` query parameter of a paginated list: an integer from 1 to `max`, written as plain digits.
 * `Number()` (or `@Type(() => Number)`) took `1e1`, ` 5`, `0x10`, `5.0` and an empty value (0) as numbers;
 * here anything but plain digits is a 400 VALIDATION_FAILED with one stable detail line.
 */
export function PageLimit(max: number, defaultSize: number): PropertyDecorator {
  const message = `limit must be an integer from 1 to ${max}, in plain digits`;
  return applyDecorators(
    ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: max, default: defaultSize }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && PLAIN_LIMIT.test(value) ? Number(value) : value,
    ),
    ValidateBy({
      name: 'pageLimit',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max,
        defaultMessage: () => message,
      },
    }),
  );
}

/** The `cursor` query parameter: the previous page's `nextCursor` (checked in full by Keyset.decode). */
export function PageCursor(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ maxLength: MAX_CURSOR_LENGTH, description: '`nextCursor` of the previous page.' }),
    IsOptional(),
    IsString(),
    MaxLength(MAX_CURSOR_LENGTH),
  );
}
