import { LineDecoder, type LineEvent } from '../../src/protocol';

function feed(d: LineDecoder, ...chunks: (string | Buffer)[]): LineEvent[] {
  const out: LineEvent[] = [];
  for (const c of chunks) d.push(Buffer.isBuffer(c) ? c : Buffer.from(c), (e) => void out.push(e));
  return out;
}

describe('LineDecoder', () => {
  test('splits lines, joins a line across chunks, strips CR, skips empty lines', () => {
    const d = new LineDecoder(100);
    expect(feed(d, 'a\nb', 'c\r\n\n', 'd')).toEqual([
      { kind: 'line', line: 'a' },
      { kind: 'line', line: 'bc' },
    ]);
    expect(feed(d, '\n')).toEqual([{ kind: 'line', line: 'd' }]);
  });

  test('a line over the limit is reported once with its size and skipped; the next line is whole', () => {
    const d = new LineDecoder(10);
    expect(feed(d, 'x'.repeat(8), 'y'.repeat(8), 'z'.repeat(100), '\nok\n')).toEqual([
      { kind: 'oversize', bytes: 116 },
      { kind: 'line', line: 'ok' },
    ]);
    expect(d.pendingBytes).toBe(0);
  });

  test('a line of exactly the limit passes', () => {
    const d = new LineDecoder(4);
    expect(feed(d, 'abcd\nabcde\n')).toEqual([
      { kind: 'line', line: 'abcd' },
      { kind: 'oversize', bytes: 5 },
    ]);
  });

  test('keeps its own copy of a partial line when the caller reuses its buffer', () => {
    const d = new LineDecoder(100);
    const buf = Buffer.from('hello');
    feed(d, buf);
    buf.fill('X');
    expect(feed(d, ' world\n')).toEqual([{ kind: 'line', line: 'hello world' }]);
  });

  test('a multi-byte character split across chunks decodes whole', () => {
    const d = new LineDecoder(100);
    const bytes = Buffer.from('né\n');
    expect(feed(d, bytes.subarray(0, 2), bytes.subarray(2))).toEqual([{ kind: 'line', line: 'né' }]);
  });
});
