import type { ValidationError } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate } from 'class-validator';
import { AppException } from '../errors/app.exception';

/** Options shared by the global ValidationPipe and `validateBody`: unknown fields are an error. */
export const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
} as const;

/** Flattens class-validator errors to `field: problem` lines; never echoes the submitted values. */
export function validationFailed(errors: ValidationError[]): AppException {
  const details: string[] = [];
  const walk = (list: ValidationError[], prefix: string): void => {
    for (const e of list) {
      const path = prefix ? `${prefix}.${e.property}` : e.property;
      for (const message of Object.values(e.constraints ?? {})) details.push(message);
      if (e.children?.length) walk(e.children, path);
    }
  };
  walk(errors, '');
  return new AppException('VALIDATION_FAILED', { details });
}

/**
 * Validates a plain body outside the pipe chain (guards run before pipes, so
 * the passport strategy must check its input itself before calling WeChat).
 */
export async function validateBody<T extends object>(cls: ClassConstructor<T>, body: unknown): Promise<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppException('VALIDATION_FAILED', { details: ['body must be a JSON object'] });
  }
  const instance = plainToInstance(cls, body);
  const errors = await validate(instance, VALIDATION_OPTIONS);
  if (errors.length > 0) throw validationFailed(errors);
  return instance;
}
