import { Injectable, type PipeTransform } from '@nestjs/common';
import { AppException } from '../errors/app.exception';
import { UUID_PATTERN } from '../validation/ids';

/**
 * A path id naming a user or a session. Not a UUID → 404 like any unknown id (an id that cannot exist
 * names nothing). Lowercased: ids are stored and carried in tokens lowercase, and MySQL compares them
 * case-insensitively — an uppercase id acted on the row but revoked no access token (keyed exactly).
 */
@Injectable()
export class UuidParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || !UUID_PATTERN.test(value)) throw new AppException('NOT_FOUND');
    return value.toLowerCase();
  }
}
