import { Brackets, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { AppException } from '../errors/app.exception';

/** Where a page ended: the last row's sort time (ms since the epoch) and its id, the tie-breaker. */
export interface KeysetPosition {
  t: number;
  id: string;
}

export interface KeysetPage<Row> {
  items: Row[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Years 1970 to 9999: what a DATETIME column holds and a JavaScript Date writes back unchanged.
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Keyset pagination, newest first, by (a time column, an id column): pages stay stable while rows are
 * added, and a page costs one index range scan however deep it is. Used by every list of the admin API.
 *
 * The cursor is opaque to clients (base64url JSON `{ t, id }`) but neither secret nor signed: it only
 * says where to resume. Filters apply on every page independently of it, so a hand-made cursor can move
 * within what the caller may read anyway, never widen it; a malformed one is a VALIDATION_FAILED, never
 * a 500 — its time is bounded to what the column holds and its id must have the listed rows' id format.
 */
export class Keyset<Row extends ObjectLiteral> {
  constructor(
    private readonly spec: {
      /** The id format of the rows (a malformed cursor id is refused, never sent to the database). */
      idPattern: RegExp;
      /** Column references in the query builder, e.g. `e.occurredAt` and `e.id`. */
      timeColumn: string;
      idColumn: string;
      /** The position of a row (its time and id). */
      positionOf: (row: Row) => KeysetPosition;
    },
  ) {}

  encode(position: KeysetPosition): string {
    return Buffer.from(JSON.stringify({ t: position.t, id: position.id }), 'utf8').toString('base64url');
  }

  decode(raw: string): KeysetPosition {
    const invalid = () => new AppException('VALIDATION_FAILED', { details: ['cursor is invalid'] });
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CURSOR_LENGTH || !BASE64URL.test(raw))
      throw invalid();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
    const { t, id } = parsed as Record<string, unknown>;
    if (
      Object.keys(parsed).length !== 2 ||
      typeof t !== 'number' ||
      !Number.isSafeInteger(t) ||
      t < 0 ||
      t > MAX_MS ||
      typeof id !== 'string' ||
      !this.spec.idPattern.test(id)
    )
      throw invalid();
    return { t, id };
  }

  /**
   * One page of `q` (its filters already applied): after the cursor's position when there is one, newest
   * first, ties by id. Fetches one row more than `limit` to tell whether another page follows.
   */
  async page(q: SelectQueryBuilder<Row>, page: { limit: number; cursor?: string }): Promise<KeysetPage<Row>> {
    const { timeColumn, idColumn } = this.spec;
    if (page.cursor !== undefined) {
      const after = this.decode(page.cursor);
      const at = new Date(after.t);
      q.andWhere(
        new Brackets((w) =>
          w
            .where(`${timeColumn} < :keysetAt`, { keysetAt: at })
            .orWhere(`(${timeColumn} = :keysetAt AND ${idColumn} < :keysetId)`, { keysetId: after.id }),
        ),
      );
    }
    const rows = await q
      .orderBy(timeColumn, 'DESC')
      .addOrderBy(idColumn, 'DESC')
      .limit(page.limit + 1)
      .getMany();
    const items = rows.slice(0, page.limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > page.limit && last ? this.encode(this.spec.positionOf(last)) : null,
    };
  }
}
