import type { ServerMessage, TurnOffer } from './signaling';

/**
 * A server message as its NDJSON line, byte for byte what `JSON.stringify(msg) + '\n'` gives for
 * a message built with its fields in the schema's order (as the server builds them): the
 * messages of every call set-up are joined from fixed pieces, only their values serialised;
 * the rest go through JSON.stringify. test/protocol/encode.test.ts holds it to that.
 */
export function encodeServerMessage(msg: ServerMessage): string {
  switch (msg.type) {
    case 'ok':
      return msg.req === undefined ? '{"type":"ok"}\n' : `{"type":"ok","req":${JSON.stringify(msg.req)}}\n`;
    case 'pong':
      return msg.req === undefined ? '{"type":"pong"}\n' : `{"type":"pong","req":${JSON.stringify(msg.req)}}\n`;
    case 'ringing':
      return `{"type":"ringing",${msg.req === undefined ? '' : `"req":${JSON.stringify(msg.req)},`}"call":${JSON.stringify(msg.call)},"to":${JSON.stringify(msg.to)}${turnField(msg.turn)}}\n`;
    case 'incoming':
      return `{"type":"incoming","call":${JSON.stringify(msg.call)},"from":${JSON.stringify(msg.from)},"offer":${JSON.stringify(msg.offer)}${turnField(msg.turn)}}\n`;
    case 'accepted':
      return `{"type":"accepted","call":${JSON.stringify(msg.call)},"answer":${JSON.stringify(msg.answer)}}\n`;
    case 'ended':
      return (
        `{"type":"ended","call":${JSON.stringify(msg.call)}` +
        (msg.by === undefined ? '' : `,"by":${JSON.stringify(msg.by)}`) +
        `,"reason":${JSON.stringify(msg.reason)}` +
        (msg.cause === undefined ? '' : `,"cause":${JSON.stringify(msg.cause)}`) +
        '}\n'
      );
    default:
      return JSON.stringify(msg) + '\n';
  }
}

/** `,"turn":{…}` when a relay is offered, else nothing. */
function turnField(turn: TurnOffer | undefined): string {
  return turn === undefined ? '' : `,"turn":${JSON.stringify({ url: turn.url, username: turn.username, password: turn.password, ttl: turn.ttl })}`;
}
