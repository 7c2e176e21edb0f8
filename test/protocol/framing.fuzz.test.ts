import fc from 'fast-check';
import { LineDecoder, type LineEvent } from '../../src/protocol';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from './fuzz-settings';

jest.setTimeout(FUZZ_TIMEOUT_MS);

const MAX = 256;

/** What the decoder must report for `input`, by definition rather than by its algorithm. */
function expected(input: Buffer, max: number): LineEvent[] {
  const out: LineEvent[] = [];
  let start = 0;
  for (let nl = input.indexOf(10); nl !== -1; start = nl + 1, nl = input.indexOf(10, start)) {
    const bytes = nl - start;
    if (bytes > max) {
      out.push({ kind: 'oversize', bytes });
      continue;
    }
    let line = input.toString('utf8', start, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line) out.push({ kind: 'line', line });
  }
  return out;
}

/** Bytes rich in what framing cares about: newlines, CRs, multi-byte characters, long runs. */
const stream = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\r\n', '\r', 'é', '€', '😀', '{"type":"ping"}'),
      fc.string({ maxLength: 20 }),
      fc.integer({ min: MAX - 2, max: MAX * 3 }).map((n) => 'x'.repeat(n)),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join('')));

/** Cut points splitting `input` into chunks (empty chunks included). */
function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * (input.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(input.subarray(prev, c));
    prev = c;
  }
  out.push(input.subarray(prev));
  return out;
}

const cuts = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 30 });

test('any chunking gives the same lines, oversize lines are reported once and skipped, and memory follows what is held', () => {
  fc.assert(
    fc.property(stream, cuts, (input, at) => {
      const d = new LineDecoder(MAX);
      const got: LineEvent[] = [];
      for (const chunk of chunked(input, at)) {
        // Each chunk is a copy the caller then scribbles over: the decoder must have kept its own.
        const copy = Buffer.from(chunk);
        d.push(copy, (ev) => void got.push(ev));
        copy.fill(0x41);
        expect(d.capacity).toBeLessThanOrEqual(Math.max(64, d.pendingBytes * 1.5));
      }
      expect(got).toEqual(expected(input, MAX));
      // What is left unfinished is exactly the bytes after the last newline (when within the limit).
      const tail = input.length - (input.lastIndexOf(10) + 1);
      expect(d.pendingBytes).toBe(tail > MAX ? 0 : tail);
    }),
    fuzzParameters(500),
  );
});

test('a handler stopping the decoder anywhere loses nothing: resume goes on where it stopped', () => {
  fc.assert(
    fc.property(stream, cuts, fc.array(fc.boolean(), { maxLength: 50 }), (input, at, stops) => {
      const d = new LineDecoder(MAX);
      const got: LineEvent[] = [];
      let i = 0;
      const handler = (ev: LineEvent) => {
        got.push(ev);
        return !stops[i++ % Math.max(1, stops.length)];
      };
      for (const chunk of chunked(input, at)) {
        // A stopped reader is fed nothing until it has resumed, as a paused socket is.
        while (!d.resume(handler));
        d.push(Buffer.from(chunk), handler);
      }
      while (!d.resume(handler));
      expect(got).toEqual(expected(input, MAX));
      expect(d.heldBytes).toBe(0);
    }),
    fuzzParameters(500),
  );
});

test('chunks pushed while stopped are held, in order, and read on resume', () => {
  fc.assert(
    fc.property(stream, cuts, fc.array(fc.boolean(), { maxLength: 50 }), fc.array(fc.boolean(), { maxLength: 50 }), (input, at, stops, resumes) => {
      const d = new LineDecoder(MAX);
      const got: LineEvent[] = [];
      let i = 0;
      const handler = (ev: LineEvent) => {
        got.push(ev);
        return !stops[i++ % Math.max(1, stops.length)];
      };
      chunked(input, at).forEach((chunk, k) => {
        if (resumes[k % Math.max(1, resumes.length)]) d.resume(handler);
        d.push(Buffer.from(chunk), handler);
      });
      while (!d.resume(handler));
      expect(got).toEqual(expected(input, MAX));
    }),
    fuzzParameters(500),
  );
});
