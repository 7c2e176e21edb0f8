import fc from 'fast-check';
import {
  MAX_BODY_BYTES,
  MAX_JSON_DEPTH,
  MAX_REQ_CHARS,
  nestsDeeperThan,
  parseClientMessage,
  parseServerMessage,
  type ParseResult,
} from '../../src/protocol';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from './fuzz-settings';
import { clientMessages, hostileLine, serverMessages } from './signaling-arbitraries';

jest.setTimeout(FUZZ_TIMEOUT_MS);

const parsers: [string, (line: string) => ParseResult<unknown>, fc.Arbitrary<Record<string, unknown>>][] = [
  ['client → server', parseClientMessage, clientMessages],
  ['server → client', parseServerMessage, serverMessages],
];

/** What every answer of a parser must look like, valid input or not. */
function wellFormed(r: ParseResult<unknown>): void {
  if (r.ok) return;
  expect(['bad_request', 'too_large']).toContain(r.code);
  expect(typeof r.message).toBe('string');
  expect(r.message.length).toBeLessThan(400);
  if (r.req !== undefined) expect(typeof r.req === 'number' ? Number.isSafeInteger(r.req) : r.req.length <= MAX_REQ_CHARS).toBe(true);
}

/** Wraps `inner` (JSON text) in `depth` levels of objects and arrays. */
function nest(inner: string, depth: number, arrays: boolean): string {
  return (arrays ? '[' : '{"n":').repeat(depth) + inner + (arrays ? ']' : '}').repeat(depth);
}

describe.each(parsers)('%s', (_dir, parse, valid) => {
  test('valid messages round-trip', () => {
    fc.assert(
      fc.property(valid, (msg) => {
        const line = JSON.stringify(msg);
        const r = parse(line);
        expect(r).toEqual({ ok: true, msg: JSON.parse(line) });
      }),
      fuzzParameters(1000),
    );
  });

  test('arbitrary text, arbitrary JSON and mutated messages never throw, and are answered in shape', () => {
    const line = hostileLine(valid);
    fc.assert(
      fc.property(line, (l) => {
        let r: ParseResult<unknown> | undefined;
        expect(() => (r = parse(l))).not.toThrow();
        wellFormed(r!);
      }),
      fuzzParameters(3000),
    );
  });

  test('depth bombs anywhere are refused as too_large before parsing; 32 levels pass the depth check', () => {
    fc.assert(
      fc.property(valid, fc.integer({ min: MAX_JSON_DEPTH, max: 20_000 }), fc.boolean(), fc.nat(), (msg, depth, arrays, where) => {
        const keys = Object.keys(msg);
        const key = keys[where % keys.length] === 'type' ? 'extra' : keys[where % keys.length];
        const deep = JSON.stringify({ ...msg, [key]: null }).replace(`"${key}":null`, `"${key}":${nest('1', depth, arrays)}`);
        const r = parse(deep);
        // The message itself is level 1: a field nested `depth` more is too deep from 32 on.
        expect(r).toEqual({ ok: false, code: 'too_large', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
        const shallow = JSON.stringify({ ...msg, extra: null }).replace('"extra":null', `"extra":${nest('1', MAX_JSON_DEPTH - 1, arrays)}`);
        const s = parse(shallow);
        if (!s.ok) expect(s.message).not.toMatch(/nested/);
      }),
      fuzzParameters(300),
    );
  });
});

test('bodies are measured in UTF-8 bytes of their JSON: over 16 KiB is too_large, up to it passes', () => {
  const char = fc.constantFrom('a', 'é', '€', '😀', '"', '\\', '\n', '\u0001');
  fc.assert(
    fc.property(char, fc.integer({ min: 1000, max: 20_000 }), (c, n) => {
      const offer = { pad: c.repeat(n) };
      const r = parseClientMessage(JSON.stringify({ type: 'call', to: 'x', offer }));
      const bytes = Buffer.byteLength(JSON.stringify(offer));
      if (bytes <= MAX_BODY_BYTES) expect(r.ok).toBe(true);
      else expect(r).toMatchObject({ ok: false, code: 'too_large', message: `call: offer: larger than ${MAX_BODY_BYTES} bytes` });
    }),
    fuzzParameters(300),
  );
});

test('the depth scan agrees with the real depth of any JSON, brackets and escapes in strings included', () => {
  const depthOf = (v: unknown): number =>
    v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;
  const tricky = fc.oneof(fc.jsonValue({ maxDepth: 8 }), fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', '"[', '\\\\"{'));
  const value = fc.jsonValue({ maxDepth: 8 }).chain((v) =>
    fc.tuple(fc.constant(v), fc.array(tricky, { maxLength: 4 })).map(([base, extra]) => [base, ...extra]),
  );
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 12 }), (v, max) => {
      const text = JSON.stringify(v, null, v.length % 2 ? 1 : undefined);
      expect(nestsDeeperThan(text, max)).toBe(depthOf(v) > max);
    }),
    fuzzParameters(2000),
  );
});
