import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { getMetadataStorage, validate } from 'class-validator';
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

/** A DTO class (what class-validator keys its metadata by). */
type DtoClass = abstract new (...args: never[]) => unknown;

const declaredCache = new WeakMap<DtoClass, ReadonlySet<string>>();

/** The properties a DTO declares with class-validator decorators (inherited ones included). */
function declaredProperties(cls: DtoClass): ReadonlySet<string> {
  let names = declaredCache.get(cls);
  if (!names) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false);
    names = new Set(metadata.map((m) => m.propertyName));
    declaredCache.set(cls, names);
  }
  return names;
}

/**
 * Refuses keys the DTO does not declare, comparing the parsed body's own keys with a Set.
 * class-validator's whitelist looks keys up in a plain object, so `valueOf`, `toString`,
 * `hasOwnProperty` or `constructor` found the inherited member and passed as "declared" (and Nest
 * strips `constructor` silently): a login carrying one still reached WeChat. Runs before any
 * transformation. Nested objects are checked against their declared class (design:type) too.
 */
export function rejectUndeclaredKeys(cls: DtoClass, body: object, prefix = ''): void {
  const declared = declaredProperties(cls);
  const undeclared = Object.keys(body).filter((key) => !declared.has(key));
  if (undeclared.length > 0) {
    // Key names only (as class-validator words it), never values.
    throw new AppException('VALIDATION_FAILED', {
      details: undeclared.map((key) => `property ${prefix}${key} should not exist`),
    });
  }
  for (const [key, value] of Object.entries(body)) {
    const type: unknown = Reflect.getMetadata('design:type', cls.prototype as object, key);
    if (isPlainObject(value) && typeof type === 'function' && declaredProperties(type as DtoClass).size > 0)
      rejectUndeclaredKeys(type as DtoClass, value, `${prefix}${key}.`);
  }
}

function isPlainObject(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The global pipe: Nest's ValidationPipe with VALIDATION_OPTIONS, after the own-key check above for
 * every DTO-typed body, query and parameter object.
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({ ...VALIDATION_OPTIONS, transform: true, exceptionFactory: validationFailed });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype && this.toValidate(metadata) && isPlainObject(value))
      rejectUndeclaredKeys(metadata.metatype, value);
    return super.transform(value, metadata);
  }
}

/**
 * Validates a plain body outside the pipe chain (guards run before pipes, so
 * the passport strategy must check its input itself before calling WeChat).
 */
export async function validateBody<T extends object>(cls: ClassConstructor<T>, body: unknown): Promise<T> {
  if (!isPlainObject(body)) {
    throw new AppException('VALIDATION_FAILED', { details: ['body must be a JSON object'] });
  }
  rejectUndeclaredKeys(cls, body);
  const instance = plainToInstance(cls, body);
  const errors = await validate(instance, VALIDATION_OPTIONS);
  if (errors.length > 0) throw validationFailed(errors);
  return instance;
}
