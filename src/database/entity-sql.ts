import { type DataSource, EntityManager, type EntityTarget, type ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Hand-written statements for the few paths that run on every login and refresh (issue 17): TypeORM's
 * query builder spent ~20 % of a login's CPU building, escaping and mapping statements whose shape never
 * changes. The SQL is written once, at start, from the entity's own metadata (table and column names,
 * quoted by the driver), and every value goes through the driver's own conversions
 * (`preparePersistentValue` / `prepareHydratedValue`: transformers, dates on SQLite and MySQL) — so a
 * row written or read here is the same as one TypeORM wrote or read. Values are always parameters
 * (`?`), never text in the statement. Everything else keeps using repositories.
 */
export class EntitySql<T extends ObjectLiteral> {
  /** The quoted table name. */
  readonly table: string;
  private readonly columns: readonly ColumnMetadata[];
  private readonly byProperty: ReadonlyMap<string, ColumnMetadata>;
  private readonly inserts = new Map<string, string>();

  constructor(
    private readonly dataSource: DataSource,
    target: EntityTarget<T>,
  ) {
    const metadata = dataSource.getMetadata(target);
    this.table = this.quote(metadata.tableName);
    // Each database column once (a relation's join column that is also a property is one column).
    const seen = new Set<string>();
    this.columns = metadata.columns.filter((c) => !seen.has(c.databaseName) && seen.add(c.databaseName));
    this.byProperty = new Map(this.columns.map((c) => [c.propertyName, c]));
  }

  /**
   * `INSERT` of the row's defined properties (an undefined one is left to the column's default, as
   * TypeORM does), with its values converted as TypeORM would. The statement is built once per shape.
   */
  insert(row: Partial<T>): { sql: string; params: unknown[] } {
    return this.insertAs(row, (marks) => `VALUES (${marks})`);
  }

  /**
   * `INSERT … SELECT` of the row's values `from` a clause such as `FROM users u WHERE u.id = ?` (its own
   * parameters follow the row's): the row is written only if the clause finds a row — a conditional
   * insert in one statement.
   */
  insertWhere(row: Partial<T>, from: string): { sql: string; params: unknown[] } {
    return this.insertAs(row, (marks) => `SELECT ${marks} ${from}`);
  }

  private insertAs(row: Partial<T>, source: (marks: string) => string): { sql: string; params: unknown[] } {
    const present = this.columns.filter((c) => row[c.propertyName as keyof T] !== undefined);
    const marks = present.map(() => '?').join(', ');
    const key = `${source('')}|${present.map((c) => c.propertyName).join(',')}`;
    let sql = this.inserts.get(key);
    if (sql === undefined) {
      const names = present.map((c) => this.quote(c.databaseName));
      sql = `INSERT INTO ${this.table} (${names.join(', ')}) ${source(marks)}`;
      this.inserts.set(key, sql);
    }
    return { sql, params: present.map((c) => this.toDb(c, row[c.propertyName as keyof T])) };
  }

  /** The quoted column of a property. */
  col(property: keyof T & string): string {
    return this.quote(this.column(property).databaseName);
  }

  /** `a.col AS "<prefix>property", …`: every column, for `hydrate(row, prefix)`. */
  select(alias: string, prefix = ''): string {
    return this.columns
      .map((c) => `${alias}.${this.quote(c.databaseName)} AS ${this.quote(prefix + c.propertyName)}`)
      .join(', ');
  }

  /** One value for a `?` of `property`'s column, converted as TypeORM would. */
  param(property: keyof T & string, value: unknown): unknown {
    return this.toDb(this.column(property), value);
  }

  /** A row selected with `select(alias, prefix)` as the entity (a plain object of its properties). */
  hydrate(raw: Record<string, unknown>, prefix = ''): T {
    const entity: Record<string, unknown> = {};
    for (const c of this.columns) {
      const value = raw[prefix + c.propertyName];
      entity[c.propertyName] =
        value === undefined ? undefined : this.dataSource.driver.prepareHydratedValue(value, c);
    }
    return entity as T;
  }

  private toDb(column: ColumnMetadata, value: unknown): unknown {
    const prepared: unknown = this.dataSource.driver.preparePersistentValue(value, column);
    // better-sqlite3 binds no `undefined` (and mysql2 would write NULL for it anyway).
    return prepared === undefined ? null : prepared;
  }

  private column(property: string): ColumnMetadata {
    const column = this.byProperty.get(property);
    if (!column) throw new Error(`no column for ${property}`);
    return column;
  }

  private quote(name: string): string {
    return this.dataSource.driver.escape(name);
  }
}

/** What one statement did: the rows it read, or how many it changed. */
export interface StatementResult {
  rows: Record<string, unknown>[];
  affected: number;
}

/**
 * One statement on `target`: inside its transaction for a transaction's EntityManager, else on a connection
 * of the pool for just this statement (the path of `DataSource.query`), with the rows it read or the number
 * it changed on either driver (TypeORM's structured result).
 */
export async function runStatement(
  target: DataSource | EntityManager,
  sql: string,
  params: unknown[],
): Promise<StatementResult> {
  const inTransaction = target instanceof EntityManager ? target.queryRunner : undefined;
  const runner =
    inTransaction ?? (target instanceof EntityManager ? target.connection : target).createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return { rows: (result.records ?? []) as Record<string, unknown>[], affected: result.affected ?? 0 };
  } finally {
    if (!inTransaction) await runner.release();
  }
}
