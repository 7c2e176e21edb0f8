/**
 * A small validator for wire messages: one schema a message, its TypeScript type inferred from
 * it (`Infer<typeof x>`). Only what parley's messages use: strings, numbers, booleans, literals,
 * enums, arrays, objects, unions, optional and defaulted fields, and predicates.
 *
 * Kept in-house, and not a general library, for two reasons measured in docs/benchmarks.md: a
 * general one added ~10 MB to every client's memory just by loading, and the server validates
 * every line it reads. Checks allocate nothing on success: an object with no field to strip or
 * fill in is returned as it came (JSON.parse made it, so nothing else holds it); only a failure
 * builds its issue, the path assembled on the way out.
 */

export interface Issue {
  /** Where: object keys and array indexes from the top. */
  path: (string | number)[];
  message: string;
  /** The value is too big rather than malformed (the server answers `too_large`). */
  tooLarge?: boolean;
}

export type SafeParseResult<T> = { success: true; data: T } | { success: false; error: { issues: Issue[] } };

/** What the caller knows of the value's source, for predicates that can skip work with it. */
export interface ParseContext {
  /** Length of the JSON text the value was parsed from. */
  sourceChars?: number;
}

/** What a check returns for a value it refuses (its issue is kept aside). */
export const FAIL: unique symbol = Symbol('invalid');
export type Fail = typeof FAIL;

/** The issue of the check that failed last; checks are synchronous, so one slot is enough. */
let failure: Issue | null = null;

function fail(message: string, tooLarge = false): Fail {
  failure = tooLarge ? { path: [], message, tooLarge } : { path: [], message };
  return FAIL;
}

/** Marks the failure (from a child) as being under `key`. */
function under(key: string | number): Fail {
  failure?.path.unshift(key);
  return FAIL;
}

export abstract class Schema<T> {
  /** The type a successful parse gives (type-level only). */
  declare readonly _output: T;
  readonly isOptional: boolean = false;

  /** The value as validated (the same value, or a copy with unknown fields left out), or FAIL. */
  abstract check(v: unknown, ctx: ParseContext): T | Fail;

  safeParse(v: unknown, ctx: ParseContext = {}): SafeParseResult<T> {
    failure = null;
    const r = this.check(v, ctx);
    if (r === FAIL) return { success: false, error: { issues: [failure ?? { path: [], message: 'invalid' }] } };
    return { success: true, data: r as T };
  }

  /** The value as validated; throws an Error naming the first issue. */
  parse(v: unknown): T {
    const r = this.safeParse(v);
    if (r.success) return r.data;
    const i = r.error.issues[0];
    throw new Error(i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message);
  }

  optional(): OptionalSchema<T> {
    return new OptionalSchema(this);
  }

  /** Absent becomes `value`. */
  default(value: T): DefaultSchema<T> {
    return new DefaultSchema(this, value);
  }

  /** Also requires `ok(value)`; `tooLarge` marks a refusal as about size. */
  refine(ok: (v: T, ctx: ParseContext) => boolean, opts: { message: string; tooLarge?: boolean }): Schema<T> {
    return new RefinedSchema(this, ok, opts.message, opts.tooLarge ?? false);
  }
}

export type Infer<S extends Schema<unknown>> = S['_output'];

export class OptionalSchema<T> extends Schema<T | undefined> {
  override readonly isOptional = true as const;
  constructor(readonly inner: Schema<T>) {
    super();
  }
  check(v: unknown, ctx: ParseContext): T | undefined | Fail {
    return v === undefined ? undefined : this.inner.check(v, ctx);
  }
}

export class DefaultSchema<T> extends Schema<T> {
  constructor(
    readonly inner: Schema<T>,
    readonly fallback: T,
  ) {
    super();
  }
  check(v: unknown, ctx: ParseContext): T | Fail {
    return v === undefined ? this.fallback : this.inner.check(v, ctx);
  }
}

export class RefinedSchema<T> extends Schema<T> {
  constructor(
    readonly inner: Schema<T>,
    readonly ok: (v: T, ctx: ParseContext) => boolean,
    readonly message: string,
    readonly tooLarge: boolean,
  ) {
    super();
  }
  check(v: unknown, ctx: ParseContext): T | Fail {
    const r = this.inner.check(v, ctx);
    if (r === FAIL) return FAIL;
    return this.ok(r as T, ctx) ? r : fail(this.message, this.tooLarge);
  }
}

function missingOr(what: string, v: unknown): Fail {
  return fail(v === undefined ? `required (${what})` : `expected ${what}`);
}

export interface StringRules {
  min: number;
  max: number;
  pattern?: RegExp;
}

export class StringSchema extends Schema<string> {
  constructor(readonly rules: StringRules = { min: 0, max: Infinity }) {
    super();
  }
  /** At least `n` UTF-16 units. */
  min(n: number): StringSchema {
    return new StringSchema({ ...this.rules, min: n });
  }
  /** At most `n` UTF-16 units. */
  max(n: number): StringSchema {
    return new StringSchema({ ...this.rules, max: n });
  }
  length(n: number): StringSchema {
    return new StringSchema({ ...this.rules, min: n, max: n });
  }
  regex(pattern: RegExp): StringSchema {
    return new StringSchema({ ...this.rules, pattern });
  }
  check(v: unknown): string | Fail {
    if (typeof v !== 'string') return missingOr('a string', v);
    const { min, max, pattern } = this.rules;
    if (v.length > max) return fail(min === max ? `expected exactly ${max} characters` : `expected at most ${max} characters`);
    if (v.length < min) return fail(min === max ? `expected exactly ${min} characters` : `expected at least ${min} characters`);
    if (pattern && !pattern.test(v)) return fail('not in the expected form');
    return v;
  }
}

export interface NumberRules {
  int: boolean;
  min: number;
  max: number;
  /** `min` itself is excluded (`positive`). */
  exclusiveMin: boolean;
}

export class NumberSchema extends Schema<number> {
  constructor(readonly rules: NumberRules = { int: false, min: -Infinity, max: Infinity, exclusiveMin: false }) {
    super();
  }
  /** A safe integer. */
  int(): NumberSchema {
    return new NumberSchema({ ...this.rules, int: true });
  }
  min(n: number): NumberSchema {
    return new NumberSchema({ ...this.rules, min: n, exclusiveMin: false });
  }
  max(n: number): NumberSchema {
    return new NumberSchema({ ...this.rules, max: n });
  }
  nonnegative(): NumberSchema {
    return this.min(0);
  }
  positive(): NumberSchema {
    return new NumberSchema({ ...this.rules, min: 0, exclusiveMin: true });
  }
  check(v: unknown): number | Fail {
    if (typeof v !== 'number' || !Number.isFinite(v)) return missingOr('a number', v);
    const { int, min, max, exclusiveMin } = this.rules;
    if (int && !Number.isSafeInteger(v)) return fail('expected an integer');
    if (v < min || (exclusiveMin && v === min)) return fail(exclusiveMin ? `expected more than ${min}` : `expected at least ${min}`);
    if (v > max) return fail(`expected at most ${max}`);
    return v;
  }
}

export class BooleanSchema extends Schema<boolean> {
  check(v: unknown): boolean | Fail {
    return typeof v === 'boolean' ? v : missingOr('true or false', v);
  }
}

export class UnknownSchema extends Schema<unknown> {
  check(v: unknown): unknown {
    return v;
  }
}

export type Primitive = string | number | boolean;

export class LiteralSchema<T extends Primitive> extends Schema<T> {
  constructor(readonly value: T) {
    super();
  }
  check(v: unknown): T | Fail {
    return v === this.value ? this.value : missingOr(JSON.stringify(this.value), v);
  }
}

export class EnumSchema<T extends string> extends Schema<T> {
  readonly allowed: ReadonlySet<string>;
  constructor(readonly values: readonly T[]) {
    super();
    this.allowed = new Set(values);
  }
  check(v: unknown): T | Fail {
    return typeof v === 'string' && this.allowed.has(v) ? (v as T) : missingOr(`one of ${this.values.join(', ')}`, v);
  }
}

export class ArraySchema<T> extends Schema<T[]> {
  constructor(
    readonly item: Schema<T>,
    readonly maxItems = Infinity,
  ) {
    super();
  }
  max(n: number): ArraySchema<T> {
    return new ArraySchema(this.item, n);
  }
  check(v: unknown, ctx: ParseContext): T[] | Fail {
    if (!Array.isArray(v)) return missingOr('a list', v);
    if (v.length > this.maxItems) return fail(`expected at most ${this.maxItems} items`);
    let out: T[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = this.item.check(v[i], ctx);
      if (r === FAIL) return under(i);
      if (r !== v[i] && !out) out = v.slice(0, i) as T[];
      if (out) out.push(r as T);
    }
    return out ?? (v as T[]);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Any JSON object, unread (offer and candidate bodies, which the server relays as they are). */
export class AnyObjectSchema extends Schema<Record<string, unknown>> {
  check(v: unknown): Record<string, unknown> | Fail {
    return isPlainObject(v) ? v : missingOr('an object', v);
  }
}

export type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { isOptional: true } ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOutput<S extends Shape> = Flat<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

export class ObjectSchema<S extends Shape> extends Schema<ObjectOutput<S>> {
  readonly keys: readonly string[];
  constructor(readonly shape: S) {
    super();
    this.keys = Object.keys(shape);
  }
  check(v: unknown, ctx: ParseContext): ObjectOutput<S> | Fail {
    if (!isPlainObject(v)) return missingOr('an object', v);
    const shape = this.shape;
    // Fields the shape does not know are left out, so a copy is needed only when there are some.
    let same = true;
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(shape, k)) {
        same = false;
        break;
      }
    }
    let copy: Record<string, unknown> | undefined = same ? undefined : {};
    for (const k of this.keys) {
      const given = Object.prototype.hasOwnProperty.call(v, k) ? v[k] : undefined;
      const r = shape[k].check(given, ctx);
      if (r === FAIL) return under(k);
      if (r !== given && !copy) copy = this.copyUpTo(v, k);
      if (copy && r !== undefined) copy[k] = r;
    }
    return (copy ?? v) as ObjectOutput<S>;
  }
  /** The shape's fields of `v` checked before `stop`, in a fresh object. */
  copyUpTo(v: Record<string, unknown>, stop: string): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const k of this.keys) {
      if (k === stop) break;
      if (Object.prototype.hasOwnProperty.call(v, k) && v[k] !== undefined) copy[k] = v[k];
    }
    return copy;
  }
}

export type AnyObject = ObjectSchema<Shape & { type: LiteralSchema<string> }>;

export class UnionSchema<T> extends Schema<T> {
  constructor(readonly options: readonly Schema<unknown>[]) {
    super();
  }
  check(v: unknown, ctx: ParseContext): T | Fail {
    for (const o of this.options) {
      const r = o.check(v, ctx);
      if (r !== FAIL) return r as T;
    }
    return v === undefined ? fail('required') : fail('matches none of the allowed forms');
  }
}

/** Objects told apart by their `type` literal: one lookup, not one try per member. */
export class TypedUnionSchema<O extends readonly AnyObject[]> extends Schema<Infer<O[number]>> {
  readonly byType: ReadonlyMap<string, AnyObject>;
  constructor(readonly options: O) {
    super();
    this.byType = new Map(options.map((o) => [o.shape.type.value, o]));
  }
  check(v: unknown, ctx: ParseContext): Infer<O[number]> | Fail {
    if (!isPlainObject(v)) return missingOr('an object', v);
    const o = typeof v.type === 'string' ? this.byType.get(v.type) : undefined;
    if (!o) {
      fail('unknown type');
      return under('type');
    }
    return o.check(v, ctx) as Infer<O[number]> | Fail;
  }
}

export const s = {
  string: () => new StringSchema(),
  number: () => new NumberSchema(),
  boolean: () => new BooleanSchema(),
  unknown: () => new UnknownSchema(),
  literal: <const T extends Primitive>(value: T) => new LiteralSchema(value),
  enum: <const T extends readonly string[]>(values: T) => new EnumSchema<T[number]>(values),
  array: <T>(item: Schema<T>) => new ArraySchema(item),
  object: <S extends Shape>(shape: S) => new ObjectSchema(shape),
  anyObject: () => new AnyObjectSchema(),
  union: <const O extends readonly Schema<unknown>[]>(options: O) => new UnionSchema<Infer<O[number]>>(options),
  typedUnion: <const O extends readonly AnyObject[]>(options: O) => new TypedUnionSchema(options),
};
