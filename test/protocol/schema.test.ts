import fc from 'fast-check';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, SHORT_LINE_CHARS, clientMessageSchema, jsonBytes, nestsDeeperThan, parseClientMessage, s, type Issue, type Schema } from '../../src/protocol';
import { referenceCheck } from './reference-check';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from './fuzz-settings';
import { clientMessages, hostileLine } from './signaling-arbitraries';

jest.setTimeout(FUZZ_TIMEOUT_MS);

/** A line as JSON, after the same depth bound the parser applies; undefined when it is not JSON or too deep. */
function parsed(line: string): { value: unknown } | undefined {
  if (line.length > MAX_JSON_DEPTH && nestsDeeperThan(line, MAX_JSON_DEPTH)) return undefined;
  try {
    return { value: JSON.parse(line) };
  } catch {
    return undefined;
  }
}

/** What the schema makes of a line, or undefined when it refuses it. */
function schemaOnly(line: string): unknown {
  const p = parsed(line);
  const r = p && clientMessageSchema.safeParse(p.value, { sourceChars: line.length });
  return r?.success ? r.data : undefined;
}

/** What the reference reading makes of a line, or undefined when it is undecided. */
function referenceOnly(line: string): unknown {
  const raw = parsed(line)?.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  return referenceCheck(raw as Record<string, unknown>, line.length);
}

/**
 * The same value: primitives by Object.is, arrays and objects by prototype, own keys (any order)
 * and values. (Jest's toStrictEqual trips over an own key named `constructor`.)
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Reflect.ownKeys(a).sort();
  const kb = Reflect.ownKeys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameValue((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
}

/** What the reference accepts, the schema accepts too, and gives back the same. */
function agrees(line: string): void {
  const ref = referenceOnly(line);
  if (ref === undefined) return;
  const schema = schemaOnly(line);
  expect(schema).toBeDefined();
  expect(sameValue(ref, schema)).toBe(true);
  expect(JSON.stringify(ref)).toBe(JSON.stringify(schema));
  // …and the parser as a whole says the same.
  const whole = parseClientMessage(line);
  expect(whole.ok && sameValue(whole.msg, schema)).toBe(true);
}

// Variations on the requests the reference decides, at and across each bound the schemas set.
const reqs = fc.oneof(
  fc.constant(undefined),
  fc.integer(),
  fc.constantFrom(0, -0, 1.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e400, -1e400, null, true, [], {}),
  fc.string({ maxLength: 70 }),
);
const strings = (max: number) => fc.oneof(fc.string({ maxLength: max + 3 }), fc.constantFrom('', 'a', 'x'.repeat(max), 'x'.repeat(max + 1)), fc.jsonValue({ maxDepth: 1 }));
const keys = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a', 'type', 'valueOf');
const bodies = fc.oneof(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), keys), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const extra = fc.option(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), keys), fc.jsonValue({ maxDepth: 1 })), { nil: undefined });
const types = fc.constantFrom('call', 'answer', 'hangup', 'ping', 'cancel', 'hello', 'Call', '');

/** Hand-written JSON so keys such as `__proto__` become own keys of the parsed object, as on the wire. */
function objectText(fields: [string, unknown][]): string {
  return '{' + fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',') + '}';
}

const nearValid = fc
  .record({
    type: types,
    req: reqs,
    to: fc.option(strings(256), { nil: undefined }),
    offer: fc.option(bodies, { nil: undefined }),
    call: fc.option(strings(64), { nil: undefined }),
    accept: fc.option(fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })), { nil: undefined }),
    answer: fc.option(bodies, { nil: undefined }),
    reason: fc.option(fc.constantFrom('hangup', 'failed', 'declined', 'busy', 'nope', 3), { nil: undefined }),
    cause: fc.option(fc.constantFrom('no_path', 'nope'), { nil: undefined }),
    extra,
  })
  .map((m) => {
    const fields: [string, unknown][] = [
      ['type', m.type],
      ['req', m.req],
      ['to', m.to],
      ['offer', m.offer],
      ['call', m.call],
      ['accept', m.accept],
      ['answer', m.answer],
      ['reason', m.reason],
      ['cause', m.cause],
    ];
    if (m.extra) fields.push(m.extra);
    return objectText(fields);
  });

/** Only the fields a type has, so the reference decides most of them. */
const hotLines = fc.oneof(
  fc.record({ type: fc.constant('call'), req: reqs, to: strings(256), offer: bodies }),
  fc.record({ type: fc.constant('answer'), req: reqs, call: strings(64), accept: fc.boolean(), answer: fc.option(bodies, { nil: undefined }) }),
  fc.record({ type: fc.constant('hangup'), req: reqs, call: strings(64), reason: fc.option(fc.constantFrom('hangup', 'failed'), { nil: undefined }) }),
  fc.record({ type: fc.constant('ping'), req: reqs }),
).map((m) => objectText(Object.entries(m)));

describe('the schemas against a reference reading of the frequent requests', () => {
  const OFFER = {
    codecs: [{ name: 'opus', rate: 48000, channels: 1, frameMs: 20, bitrate: 24000, fec: true }],
    candidates: [{ kind: 'host', ip: '192.168.1.23', port: 40112 }],
    ssrc: 1234567890,
  };

  it.each([
    { type: 'call', req: 7, to: 'bob', offer: OFFER },
    { type: 'answer', req: 'r1', call: 'c'.repeat(32), accept: true, answer: OFFER },
    { type: 'answer', call: 'c', accept: false },
    { type: 'hangup', req: 8, call: 'c'.repeat(32) },
    { type: 'hangup', req: 8, call: 'c', reason: 'hangup' },
    { type: 'ping', req: 9 },
    { type: 'ping' },
  ])('%j is accepted as it is', (m) => {
    const line = JSON.stringify(m);
    expect(referenceOnly(line)).toBeDefined();
    agrees(line);
  });

  it.each([
    ['an unknown field', { type: 'call', req: 1, to: 'bob', offer: {}, x: 1 }],
    ['a reason it does not handle', { type: 'hangup', call: 'c', reason: 'failed', cause: 'no_path' }],
    ['a req over 64 characters', { type: 'ping', req: 'r'.repeat(65) }],
    ['an unsafe integer req', { type: 'ping', req: 2 ** 53 }],
    ['an array offer', { type: 'call', to: 'bob', offer: [] }],
    ['a call id over 64 characters', { type: 'hangup', call: 'c'.repeat(65) }],
    ['an empty call id', { type: 'hangup', call: '' }],
    ['a name over 256 characters', { type: 'call', to: 'n'.repeat(257), offer: {} }],
    ['a type it does not handle', { type: 'hello', req: 1, version: 1, name: 'a' }],
  ])('the reference leaves %s undecided', (_what, m) => {
    expect(referenceOnly(JSON.stringify(m))).toBeUndefined();
  });

  it('keeps a body\'s own __proto__ key as data, and strips one beside the fields', () => {
    const body = parseClientMessage('{"type":"call","to":"bob","offer":{"__proto__":{"a":1}}}');
    expect(body.ok && Object.getPrototypeOf(body.msg)).toBe(Object.prototype);
    expect(body.ok && body.msg.type === 'call' && Object.getPrototypeOf(body.msg.offer)).toBe(Object.prototype);
    expect(body.ok && body.msg.type === 'call' && JSON.stringify(body.msg.offer)).toBe('{"__proto__":{"a":1}}');
    const beside = parseClientMessage('{"type":"call","__proto__":{"polluted":1},"to":"bob","offer":{}}');
    expect(beside).toEqual({ ok: true, msg: { type: 'call', to: 'bob', offer: {} } });
    expect(beside.ok && Object.getPrototypeOf(beside.msg)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it(`skips measuring bodies of lines up to ${SHORT_LINE_CHARS} characters: they serialise to less than ${MAX_BODY_BYTES} bytes`, () => {
    // The most a character can grow by: 9e20 (4 characters) serialises as 21.
    const prefix = '{"type":"call","to":"b","offer":{"a":[';
    const n = Math.floor((SHORT_LINE_CHARS - prefix.length - 3) / 5);
    const line = prefix + Array(n).fill('9e20').join(',') + ']}}';
    expect(line.length).toBeLessThanOrEqual(SHORT_LINE_CHARS);
    const read = schemaOnly(line) as { offer: unknown };
    expect(read).toBeDefined();
    expect(jsonBytes(read.offer)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    agrees(line);
    // Past the bound the body is measured.
    const longer = prefix + Array(n + 1000).fill('9e20').join(',') + ']}}';
    expect(parseClientMessage(longer)).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('accepts what the reference accepts, and returns it unchanged (valid messages)', () => {
    fc.assert(fc.property(clientMessages, (m) => agrees(JSON.stringify(m))), fuzzParameters(3000));
  });

  it('… the frequent requests with each field at and across its bounds', () => {
    fc.assert(fc.property(hotLines, agrees), fuzzParameters(5000));
  });

  it('… near-valid requests with fields of every kind, present or not', () => {
    fc.assert(fc.property(nearValid, agrees), fuzzParameters(5000));
  });

  it('… hostile lines', () => {
    fc.assert(fc.property(hostileLine(clientMessages), agrees), fuzzParameters(3000));
  });

  it('decides most of the frequent requests the generators make (the comparison is not empty)', () => {
    const lines = fc.sample(hotLines, { numRuns: 2000, seed: 7 });
    const decided = lines.filter((l) => referenceOnly(l) !== undefined).length;
    const valid = lines.filter((l) => schemaOnly(l) !== undefined).length;
    expect(decided).toBeGreaterThan(valid / 2);
  });
});

describe('the validator', () => {
  const issue = (schema: Schema<unknown>, v: unknown): Issue => {
    const r = schema.safeParse(v);
    if (r.success) throw new Error(`accepted ${JSON.stringify(v)}`);
    return r.error.issues[0];
  };

  it('holds strings to their bounds and form, counted in UTF-16 units', () => {
    const str = s.string().min(2).max(4).regex(/^[a-z€]+$/);
    expect(str.safeParse('ab')).toEqual({ success: true, data: 'ab' });
    expect(str.safeParse('ab€€')).toEqual({ success: true, data: 'ab€€' });
    expect(issue(str, 'a')).toEqual({ path: [], message: 'expected at least 2 characters' });
    expect(issue(str, 'abcde')).toEqual({ path: [], message: 'expected at most 4 characters' });
    expect(issue(str, 'AB')).toEqual({ path: [], message: 'not in the expected form' });
    expect(issue(str, 3)).toEqual({ path: [], message: 'expected a string' });
    expect(issue(str, undefined)).toEqual({ path: [], message: 'required (a string)' });
    expect(issue(s.string().length(3), 'abcd')).toEqual({ path: [], message: 'expected exactly 3 characters' });
  });

  it('holds numbers to safe integers and their range', () => {
    const port = s.number().int().min(1).max(65535);
    expect(port.safeParse(65535).success).toBe(true);
    expect(issue(port, 0).message).toBe('expected at least 1');
    expect(issue(port, 65536).message).toBe('expected at most 65535');
    expect(issue(port, 1.5).message).toBe('expected an integer');
    expect(issue(s.number().int(), 2 ** 53).message).toBe('expected an integer');
    expect(issue(s.number(), '1').message).toBe('expected a number');
    expect(issue(s.number(), Infinity).message).toBe('expected a number');
    expect(issue(s.number().positive(), 0).message).toBe('expected more than 0');
    expect(s.number().positive().safeParse(0.5).success).toBe(true);
    expect(issue(s.number().nonnegative(), -1).message).toBe('expected at least 0');
  });

  it('takes literals, enums and booleans exactly', () => {
    expect(s.literal(20).safeParse(20).success).toBe(true);
    expect(issue(s.literal(20), '20').message).toBe('expected 20');
    expect(issue(s.enum(['a', 'b']), 'c').message).toBe('expected one of a, b');
    expect(issue(s.enum(['a', 'b']), 'toString').message).toBe('expected one of a, b');
    expect(issue(s.boolean(), 0).message).toBe('expected true or false');
  });

  it('returns an object as it came when nothing is stripped or filled in', () => {
    const o = s.object({ a: s.string(), b: s.number().optional(), c: s.array(s.object({ x: s.number() })) });
    const v = { a: 'x', c: [{ x: 1 }] };
    const r = o.safeParse(v);
    expect(r.success && r.data).toBe(v);
  });

  it('leaves unknown fields out, at any depth, without touching the input', () => {
    const o = s.object({ a: s.string(), c: s.array(s.object({ x: s.number() })) });
    const inner = { x: 1, y: 2 };
    const v = { a: 'x', z: 1, c: [{ x: 0 }, inner] };
    expect(o.safeParse(v)).toEqual({ success: true, data: { a: 'x', c: [{ x: 0 }, { x: 1 }] } });
    expect(inner).toEqual({ x: 1, y: 2 });
    const nested = { a: 'x', c: [inner] };
    const r = o.safeParse(nested);
    expect(r.success && r.data).not.toBe(nested);
    expect(r).toEqual({ success: true, data: { a: 'x', c: [{ x: 1 }] } });
  });

  it('fills in defaults and keeps optional fields absent', () => {
    const o = s.object({ t: s.enum(['mesh', 'forward']).default('forward'), n: s.number().optional() });
    expect(o.safeParse({})).toEqual({ success: true, data: { t: 'forward' } });
    expect(o.safeParse({ t: 'mesh', n: 2 })).toEqual({ success: true, data: { t: 'mesh', n: 2 } });
    const r = o.safeParse({});
    expect(r.success && 'n' in r.data).toBe(false);
  });

  it('says where the first problem is', () => {
    const o = s.object({ list: s.array(s.object({ port: s.number().int() })).max(2) });
    expect(issue(o, { list: [{ port: 1 }, { port: 'x' }] })).toEqual({ path: ['list', 1, 'port'], message: 'expected a number' });
    expect(issue(o, { list: [{}, {}, {}] })).toEqual({ path: ['list'], message: 'expected at most 2 items' });
    expect(issue(o, { list: [{}] })).toEqual({ path: ['list', 0, 'port'], message: 'required (a number)' });
    expect(issue(o, [])).toEqual({ path: [], message: 'expected an object' });
    expect(() => o.parse({ list: 'no' })).toThrow('list: expected a list');
  });

  it('tries union members in order, and tells typed members apart by type', () => {
    const u = s.union([s.literal(false), s.object({ pt: s.number() })]);
    expect(u.safeParse(false).success).toBe(true);
    expect(u.safeParse({ pt: 1 })).toEqual({ success: true, data: { pt: 1 } });
    expect(issue(u, true).message).toBe('matches none of the allowed forms');
    const t = s.typedUnion([s.object({ type: s.literal('a'), n: s.number() }), s.object({ type: s.literal('b') })]);
    expect(t.safeParse({ type: 'b', n: 'ignored' })).toEqual({ success: true, data: { type: 'b' } });
    expect(issue(t, { type: 'a' })).toEqual({ path: ['n'], message: 'required (a number)' });
    expect(issue(t, { type: 'c' })).toEqual({ path: ['type'], message: 'unknown type' });
  });

  it('marks a refused predicate as too large when told so, and passes it the source length', () => {
    const seen: (number | undefined)[] = [];
    const small = s.anyObject().refine(
      (v, ctx) => {
        seen.push(ctx.sourceChars);
        return Object.keys(v).length < 2;
      },
      { message: 'too many keys', tooLarge: true },
    );
    expect(small.safeParse({ a: 1 }, { sourceChars: 7 }).success).toBe(true);
    expect(issue(small, { a: 1, b: 2 })).toEqual({ path: [], message: 'too many keys', tooLarge: true });
    expect(seen).toEqual([7, undefined]);
    expect(issue(s.anyObject(), [1]).message).toBe('expected an object');
  });
});
