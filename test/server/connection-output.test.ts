import net from 'node:net';
import type { Socket } from 'node:net';
import { Connection, type ConnectionEnv, type ConnectionHooks } from '../../src/server/connection';
import { Throttle } from '../../src/server/throttle';
import { ManualClock } from './manual-clock';

/**
 * A socket that records what the connection does with it and never drains: everything written
 * stays pending, as with a client that stopped reading.
 */
class RecordingSocket {
  readonly calls: string[] = [];
  writable = true;
  writableLength = 0;
  remoteAddress = '127.0.0.1';
  remotePort = 5000;
  destroyed = false;
  private corks = 0;
  get writableCorked(): number {
    return this.corks;
  }
  cork(): void {
    this.corks++;
    this.calls.push('cork');
  }
  uncork(): void {
    this.corks--;
    this.calls.push('uncork');
  }
  write(s: string): boolean {
    this.calls.push(`${this.corks ? 'corked' : 'direct'} ${JSON.parse(s).req}`);
    this.writableLength += Buffer.byteLength(s);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.writable = false;
    this.calls.push('destroy');
  }
  end(): void {}
  paused = false;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function connection(socket: unknown, maxPendingOutput = 1 << 20, clock = new ManualClock()): Connection {
  const env: ConnectionEnv = { clock, throttle: new Throttle(clock), requests: { perSecond: 100, burst: 400 }, maxPendingOutput };
  // Each line costs one unit, as a short request does.
  const hooks: ConnectionHooks = { line: (conn) => conn.charge(1, clock.now()), leave: () => undefined };
  return new Connection(socket as Socket, hooks, env);
}

/** Why the connection is on its way out, or null while it is not. */
const leaving = (conn: Connection) => (conn.state.phase === 'closing' ? conn.state.reason : null);

describe('Connection output', () => {
  it('writes the only message of a tick at once, without corking', async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    conn.send({ type: 'ok', req: 1 });
    expect(socket.calls).toEqual(['direct 1']);
    await tick();
    expect(socket.calls).toEqual(['direct 1']);
    conn.send({ type: 'ok', req: 2 });
    await tick();
    expect(socket.calls).toEqual(['direct 1', 'direct 2']);
  });

  it('corks from the second message of a tick, in order, and uncorks once at the end of it', async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    conn.send({ type: 'ok', req: 1 });
    conn.send({ type: 'ok', req: 2 });
    conn.send({ type: 'pong', req: 3 });
    expect(socket.calls).toEqual(['direct 1', 'cork', 'corked 2', 'corked 3']);
    await tick();
    expect(socket.calls).toEqual(['direct 1', 'cork', 'corked 2', 'corked 3', 'uncork']);
    // The next tick starts afresh.
    conn.send({ type: 'ok', req: 4 });
    await tick();
    expect(socket.calls.slice(5)).toEqual(['direct 4']);
  });

  it('cuts off a consumer over the cap at the end of the tick when the single write overflows it, dropping what follows', async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket, 1000);
    conn.send({ type: 'error', req: 1, code: 'bad_request', message: 'x'.repeat(2000) });
    conn.send({ type: 'ok', req: 2 });
    expect(socket.calls).toEqual(['direct 1']);
    expect(leaving(conn)).toBeNull();
    expect(socket.destroyed).toBe(false);
    await tick();
    expect(leaving(conn)).toBe('slow_consumer');
    expect(socket.calls).toEqual(['direct 1', 'destroy']);
  });

  it('checks the cap as corked messages are produced: one tick never queues much past it', async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket, 1000);
    for (let i = 1; i <= 100; i++) conn.send({ type: 'error', req: i, code: 'bad_request', message: 'x'.repeat(100) });
    // Writes stop at the first message that takes the pending output over the cap.
    const written = socket.calls.filter((c) => c.startsWith('direct') || c.startsWith('corked')).length;
    expect(written).toBeLessThan(10);
    expect(socket.writableLength).toBeLessThan(1000 + 200);
    await tick();
    expect(leaving(conn)).toBe('slow_consumer');
    expect(socket.calls.slice(-2)).toEqual(['uncork', 'destroy']);
  });

  it('cuts off a real client that stops reading, and delivers everything in order to one that reads', async () => {
    const server = net.createServer();
    const accepted: Socket[] = [];
    const all: Socket[] = [];
    server.on('connection', (s) => {
      accepted.push(s);
      all.push(s);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const open = async () => {
      const client = net.connect(port, '127.0.0.1');
      all.push(client);
      await new Promise((resolve) => client.once('connect', resolve));
      while (accepted.length === 0) await tick();
      return { client, socket: accepted.shift()! };
    };
    try {
      // A reader: single and corked ticks interleaved arrive in order.
      const reader = await open();
      const conn = connection(reader.socket);
      let text = '';
      reader.client.on('data', (d) => (text += d.toString()));
      let req = 0;
      for (const n of [1, 3, 1, 1, 5, 2, 1]) {
        for (let i = 0; i < n; i++) conn.send({ type: 'ok', req: ++req });
        await tick();
      }
      while (text.split('\n').length <= req) await tick();
      expect(text.trim().split('\n').map((l) => JSON.parse(l).req)).toEqual(Array.from({ length: req }, (_, i) => i + 1));

      // A client that never reads: its connection is cut once the kernel's buffers and the cap are full.
      const stalled = await open();
      stalled.client.pause();
      const slow = connection(stalled.socket, 64 * 1024);
      const big = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 10_000 && leaving(slow) === null; i++) {
        slow.send({ type: 'error', req: i, code: 'bad_request', message: big });
        await tick();
      }
      expect(leaving(slow)).toBe('slow_consumer');
      expect(stalled.socket.destroyed).toBe(true);
    } finally {
      for (const s of all) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('Connection input', () => {
  it('charges a read that finishes no line, so a peer dripping a byte a segment is paused by its budget', async () => {
    const clock = new ManualClock();
    const socket = new RecordingSocket();
    const conn = connection(socket, 1 << 20, clock);
    const byte = Buffer.from('a');
    for (let i = 0; i < 400; i++) conn.receive(byte);
    expect(socket.paused).toBe(false);
    conn.receive(byte);
    expect(socket.paused).toBe(true);
    // Read again once the budget has refilled (100 a second: 10 ms a unit).
    clock.advance(20);
    expect(socket.paused).toBe(false);
  });

  it('does not charge a read for the lines it finishes: a line a read costs what the line costs', () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    const line = Buffer.from('{"type":"ping"}\n');
    for (let i = 0; i < 400; i++) conn.receive(line);
    expect(socket.paused).toBe(false);
    conn.receive(line);
    expect(socket.paused).toBe(true);
  });
});
