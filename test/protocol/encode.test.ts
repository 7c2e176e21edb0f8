import fc from 'fast-check';
import type { ServerMessage } from '../../src/protocol';
import { encodeServerMessage } from '../../src/protocol/encode';
import { fuzzParameters } from './fuzz-settings';
import { serverMessages } from './signaling-arbitraries';

const same = (m: ServerMessage) => expect(encodeServerMessage(m)).toBe(JSON.stringify(m) + '\n');

describe('encodeServerMessage', () => {
  it('is JSON.stringify plus a newline, for every server message built in schema order', () => {
    fc.assert(
      fc.property(serverMessages, (m) => same(m as ServerMessage)),
      fuzzParameters(5000),
    );
  });

  it('… with strings that need escaping and any req', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('"', '\\', '\n', '\u2028', '\ud800', '\u0000', 'é😀'));
    const req = fc.option(fc.oneof(text, fc.integer(), fc.constantFrom(-0, 2 ** 53)), { nil: undefined });
    const body = fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    const turn = fc.option(fc.record({ url: text, username: text, password: text, ttl: fc.integer({ min: 1 }) }), { nil: undefined });
    const withTurn = <M extends { turn?: unknown }>(m: M) => (m.turn === undefined ? (({ turn: _, ...rest }) => rest)(m) : m);
    const msgs = fc.oneof(
      fc.record({ type: fc.constant('ok' as const), req }),
      fc.record({ type: fc.constant('pong' as const), req }),
      fc.record({ type: fc.constant('ringing' as const), req, call: text, to: text, turn }).map(withTurn),
      fc.record({ type: fc.constant('incoming' as const), call: text, from: text, offer: body, turn }).map(withTurn),
      fc.record({ type: fc.constant('accepted' as const), call: text, answer: body }),
      fc.record({
        type: fc.constant('ended' as const),
        call: text,
        by: fc.option(text, { nil: undefined }),
        reason: fc.constantFrom('hangup', 'failed', 'timeout', 'peer_gone' as const),
        cause: fc.option(fc.constantFrom('input_device' as const, 'no_path' as const), { nil: undefined }),
      }),
    );
    fc.assert(
      fc.property(msgs, (m) => same(m as ServerMessage)),
      fuzzParameters(5000),
    );
  });

  it('leaves out fields that are present but undefined, as JSON.stringify does', () => {
    same({ type: 'ok', req: undefined });
    same({ type: 'pong', req: undefined });
    same({ type: 'ringing', req: undefined, call: 'c', to: 'bob' });
    same({ type: 'ringing', req: undefined, call: 'c', to: 'bob', turn: undefined });
    same({ type: 'ended', call: 'c', by: undefined, reason: 'timeout', cause: undefined });
  });
});
