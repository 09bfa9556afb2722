import type { AppConfig, NodeEnv } from './app-config';

/**
 * Each feature declares its environment variables once, in a slice beside it (`*.config.ts`): the parser
 * with its range or format, the default, the description, whether the value is a secret and whether a
 * deployment must decide it (an operator setting) or may leave it (advanced tuning). `loadConfig` composes
 * the slices before Nest starts; `npm run docs:config` renders docs/configuration.md from the same
 * declarations, and a test fails when the committed file differs.
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

/** What docs/configuration.md says about a variable. */
export interface VariableDoc {
  readonly description: string;
  /** An operator setting (a deployment must think about it) rather than advanced tuning. */
  readonly operator: boolean;
  /** The value is a secret: never in a problem, a log line or the docs. */
  readonly secret: boolean;
  /** The default as the docs show it; '' when there is none. */
  readonly default: string;
  /** The range or format as the docs show it. */
  readonly format: string;
}

type Parsed<T> = { readonly value: T } | { readonly problem: string };

export interface Variable<T> {
  readonly doc: VariableDoc;
  /** The value when the variable is unset or empty. */
  readonly fallback: T;
  /** Parses a set, non-empty value. A problem names the variable and never contains the value. */
  parse(name: string, raw: string): Parsed<T>;
}

interface Described {
  description: string;
  /** Default: advanced tuning. */
  operator?: boolean;
  secret?: boolean;
}

/** A static default, or none (undefined) with the docs' wording of what happens then. */
type DefaultOf<T> = { default: T; defaultDoc?: string } | { default?: undefined; defaultDoc: string };
type ValueOf<T, O> = O extends { default: T } ? T : T | undefined;

function variable<T>(
  o: Described & { default?: T; defaultDoc?: string },
  format: string,
  parse: (name: string, raw: string) => Parsed<T>,
): Variable<T> {
  const shown = o.default === undefined ? '' : `\`${String(o.default)}\``;
  return {
    doc: {
      description: o.description,
      operator: o.operator ?? false,
      secret: o.secret ?? false,
      default: o.defaultDoc === undefined ? shown : o.defaultDoc.replace('{default}', shown),
      format,
    },
    fallback: o.default as T,
    parse,
  };
}

/**
 * A whole number in [min, max]. With `mustBe` (e.g. 'whole milliseconds'), one message for every failure:
 * "NAME must be whole milliseconds from MIN to MAX"; without, the message says which rule broke (as
 * class-validator's did: "must be an integer number", "must not be less than MIN").
 */
export function integer<O extends Described & DefaultOf<number>>(
  o: O & { min: number; max: number; unit?: string; mustBe?: string },
): Variable<ValueOf<number, O>> {
  const format = `${o.min}–${o.max}${o.unit ? ` ${o.unit}` : ''}`;
  return variable<number>(o, format, (name, raw) => {
    const text = raw.trim();
    const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (o.mustBe && !(n >= o.min && n <= o.max))
      return { problem: `${name} must be ${o.mustBe} from ${o.min} to ${o.max}` };
    if (!Number.isSafeInteger(n)) return { problem: `${name} must be an integer number` };
    if (n < o.min) return { problem: `${name} must not be less than ${o.min}` };
    if (n > o.max) return { problem: `${name} must not be greater than ${o.max}` };
    return { value: n };
  }) as Variable<ValueOf<number, O>>;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** true/1/yes/on or false/0/no/off, any case. */
export function flag<O extends Described & DefaultOf<boolean>>(o: O): Variable<ValueOf<boolean, O>> {
  return variable<boolean>(o, '`true` / `false`', (name, raw) => {
    const v = raw.trim().toLowerCase();
    if (TRUE.includes(v)) return { value: true };
    if (FALSE.includes(v)) return { value: false };
    return { problem: `${name} must be a boolean value` };
  }) as Variable<ValueOf<boolean, O>>;
}

/** One of a fixed list of words. */
export function oneOf<const C extends string, O extends Described & DefaultOf<C>>(
  choices: readonly C[],
  o: O,
): Variable<ValueOf<C, O>> {
  return variable<C>(o, choices.map((c) => `\`${c}\``).join(', '), (name, raw) =>
    (choices as readonly string[]).includes(raw)
      ? { value: raw as C }
      : { problem: `${name} must be one of the following values: ${choices.join(', ')}` },
  ) as Variable<ValueOf<C, O>>;
}

/**
 * Free text, optionally held to a pattern (`invalid` completes the message: "NAME must be …") and a
 * length. Structure beyond one pattern (lists, URLs, keys) is parsed by the slice's `build`.
 */
export function text<O extends Described & DefaultOf<string>>(
  o: O & { format: string; pattern?: RegExp; invalid?: string; maxLength?: number },
): Variable<ValueOf<string, O>> {
  return variable<string>(o, o.format, (name, raw) => {
    if (o.pattern && !o.pattern.test(raw))
      return { problem: `${name} ${o.invalid ?? `must match ${String(o.pattern)}`}` };
    if (o.maxLength !== undefined && raw.length > o.maxLength)
      return { problem: `${name} must be shorter than or equal to ${o.maxLength} characters` };
    return { value: raw };
  }) as Variable<ValueOf<string, O>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Variable; ValuesOf recovers each T
export type Variables = Record<string, Variable<any>>;
export type ValuesOf<V extends Variables> = {
  readonly [K in keyof V]: V[K] extends Variable<infer T> ? T : never;
};

/** What every slice's `build` may read besides its own variables, and where it reports. */
export interface ConfigContext {
  readonly env: NodeEnv;
  readonly isProd: boolean;
  /** DATA_DIR, resolved. */
  readonly dataDir: string;
  readonly port: number;
  /** Tests may ask for TypeORM's synchronize (never settable from the environment). */
  readonly synchronize: boolean;
  /** Whether the environment sets this variable (a non-empty value), as opposed to its default applying. */
  isSet(name: string): boolean;
  /** A reason not to start. Never contains a secret value. */
  problem(message: string): void;
  /** A note for the start-up log. Never contains a secret value. */
  warn(message: string): void;
}

export interface ConfigSlice<V extends Variables = Variables, F = object> {
  /** The heading its variables are grouped under in docs/configuration.md. */
  readonly title: string;
  readonly variables: V;
  /**
   * Defaults that depend on other values, cross-field rules and the slice's part of AppConfig. Runs only
   * when every variable parsed. Reports every problem through `ctx` and returns undefined when its part
   * cannot be built. `built` holds the parts of the slices composed before it (read, never changed).
   */
  build(values: ValuesOf<V>, ctx: ConfigContext, built: Readonly<Partial<AppConfig>>): F | undefined;
}

export function defineSlice<V extends Variables, F extends Partial<AppConfig>>(
  slice: ConfigSlice<V, F>,
): ConfigSlice<V, F> {
  return slice;
}

/** The parsed values of every slice, read back typed per slice. */
export class ParsedValues {
  private constructor(private readonly bySlice: Map<ConfigSlice, Record<string, unknown>>) {}

  /**
   * Parses every variable of every slice; throws one ConfigError listing every value that does not parse.
   * Empty strings mean unset: docker-compose and CI often pass `VAR=` for optional values.
   */
  static parse(slices: readonly ConfigSlice[], raw: Record<string, string | undefined>): ParsedValues {
    const problems: string[] = [];
    const bySlice = new Map<ConfigSlice, Record<string, unknown>>();
    for (const slice of slices) {
      const values: Record<string, unknown> = {};
      for (const [name, variable] of Object.entries(slice.variables)) {
        const value = raw[name];
        if (value === undefined || value === '') {
          values[name] = variable.fallback;
          continue;
        }
        const parsed = variable.parse(name, value);
        if ('problem' in parsed) problems.push(parsed.problem);
        else values[name] = parsed.value;
      }
      bySlice.set(slice, values);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return new ParsedValues(bySlice);
  }

  of<V extends Variables>(slice: ConfigSlice<V, unknown>): ValuesOf<V> {
    const values = this.bySlice.get(slice as unknown as ConfigSlice);
    if (!values) throw new Error(`config slice "${slice.title}" was not parsed`);
    return values as ValuesOf<V>;
  }
}

/** Every variable name once: two slices declaring the same one is a programming error. */
export function assertDistinctNames(slices: readonly ConfigSlice[]): void {
  const seen = new Map<string, string>();
  for (const slice of slices)
    for (const name of Object.keys(slice.variables)) {
      const other = seen.get(name);
      if (other) throw new Error(`${name} is declared by both "${other}" and "${slice.title}"`);
      seen.set(name, slice.title);
    }
}
