import fc from 'fast-check';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, clientMessageSchema, jsonBytes, nestsDeeperThan, parseClientMessage } from '../../src/protocol';
import { QUICK_MAX_CHARS, quickClientMessage } from '../../src/protocol/quick-parse';
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

/** What zod alone makes of a line, or undefined when it refuses it. */
function zodOnly(line: string): unknown {
  const p = parsed(line);
  const r = p && clientMessageSchema.safeParse(p.value);
  return r?.success ? r.data : undefined;
}

/** What the quick check makes of a line, or undefined when it leaves it to zod. */
function quickOnly(line: string): unknown {
  const raw = parsed(line)?.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  return quickClientMessage(raw as Record<string, unknown>, line.length);
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

/** The quick check vouches only for what zod accepts, and gives what zod gives. */
function agrees(line: string): void {
  const quick = quickOnly(line);
  if (quick === undefined) return;
  const zod = zodOnly(line);
  expect(zod).toBeDefined();
  expect(sameValue(quick, zod)).toBe(true);
  expect(JSON.stringify(quick)).toBe(JSON.stringify(zod));
  // …and the parser as a whole says the same.
  const whole = parseClientMessage(line);
  expect(whole.ok && sameValue(whole.msg, zod)).toBe(true);
}

// Variations on the requests the quick check handles, at and across each bound zod sets.
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

/** Only the fields a type has, so the quick check is exercised on messages zod mostly accepts. */
const hotLines = fc.oneof(
  fc.record({ type: fc.constant('call'), req: reqs, to: strings(256), offer: bodies }),
  fc.record({ type: fc.constant('answer'), req: reqs, call: strings(64), accept: fc.boolean(), answer: fc.option(bodies, { nil: undefined }) }),
  fc.record({ type: fc.constant('hangup'), req: reqs, call: strings(64), reason: fc.option(fc.constantFrom('hangup', 'failed'), { nil: undefined }) }),
  fc.record({ type: fc.constant('ping'), req: reqs }),
).map((m) => objectText(Object.entries(m)));

describe('the quick check of frequent requests', () => {
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
  ])('vouches for %j, exactly as zod reads it', (m) => {
    const line = JSON.stringify(m);
    expect(quickOnly(line)).toBeDefined();
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
  ])('leaves %s to zod', (_what, m) => {
    expect(quickOnly(JSON.stringify(m))).toBeUndefined();
  });

  it('leaves a body with an own __proto__ key to zod', () => {
    expect(quickOnly('{"type":"call","to":"bob","offer":{"__proto__":{"a":1}}}')).toBeUndefined();
    expect(quickOnly('{"type":"call","__proto__":{},"to":"bob","offer":{}}')).toBeUndefined();
  });

  it(`cannot pass a body over ${MAX_BODY_BYTES} bytes: a line of ${QUICK_MAX_CHARS} characters serialises to less`, () => {
    // The most a character can grow by: 9e20 (4 characters) serialises as 21.
    const prefix = '{"type":"call","to":"b","offer":{"a":[';
    const n = Math.floor((QUICK_MAX_CHARS - prefix.length - 3) / 5);
    const line = prefix + Array(n).fill('9e20').join(',') + ']}}';
    expect(line.length).toBeLessThanOrEqual(QUICK_MAX_CHARS);
    const quick = quickOnly(line) as { offer: unknown };
    expect(quick).toBeDefined();
    expect(jsonBytes(quick.offer)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    agrees(line);
    // Past the bound the body is measured, by zod.
    const longer = prefix + Array(n + 1000).fill('9e20').join(',') + ']}}';
    expect(quickOnly(longer)).toBeUndefined();
    expect(parseClientMessage(longer)).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('accepts a subset of what zod accepts, and returns what zod returns (valid messages)', () => {
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

  it('vouches for most of the frequent requests the generators make (the quick path is used)', () => {
    const lines = fc.sample(hotLines, { numRuns: 2000, seed: 7 });
    const vouched = lines.filter((l) => quickOnly(l) !== undefined).length;
    const valid = lines.filter((l) => zodOnly(l) !== undefined).length;
    expect(vouched).toBeGreaterThan(valid / 2);
  });
});
