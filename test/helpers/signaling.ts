import { fork, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { LineDecoder, startServer, type RunningServer, type ServerOptions } from '../../src';

export async function testServer(opts: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', port: 0, udpPort: 0, ...opts });
}

type Msg = Record<string, unknown> & { type: string };
let quietSeq = 0;

/**
 * A raw line-protocol client for tests: sends exactly what it is given and records
 * exactly what the server says, so assertions see the wire itself.
 */
export class RawClient {
  readonly received: Msg[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed = false;
  /** The server reset the connection (it does so to a closing peer that goes on sending). */
  reset = false;
  private readonly closedP: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    const decoder = new LineDecoder(10 * 1024 * 1024);
    socket.on('data', (chunk) =>
      decoder.push(chunk, (ev) => {
        if (ev.kind !== 'line') return;
        this.received.push(JSON.parse(ev.line) as Msg);
        this.wake();
      }),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') this.reset = true;
    });
    this.closedP = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** `from`: the local address to connect from (another loopback address, say, to be another client machine). */
  static connect(port: number, { host = '127.0.0.1', from }: { host?: string; from?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress: from });
      s.once('error', reject);
      s.once('connect', () => resolve(new RawClient(s)));
    });
  }

  static async register(port: number, name: string): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.send({ type: 'hello', version: 1, name });
    const w = await c.next();
    if (w.type !== 'welcome') throw new Error(`registering ${name}: ${JSON.stringify(w)}`);
    return c;
  }

  send(msg: object): void {
    this.socket.write(JSON.stringify(msg) + '\n');
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next message not yet consumed (in arrival order). */
  async next(timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.received.length) {
      if (this.closed) throw new Error('connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received[this.cursor++];
  }

  /**
   * Asserts the server has sent nothing not yet consumed: a ping's pong must be the next message,
   * and the server answers each connection in order, so whatever it sent before has arrived by then.
   */
  async quiet(): Promise<void> {
    const req = `quiet-${++quietSeq}`;
    this.send({ type: 'ping', req });
    const m = await this.next();
    if (m.type !== 'pong' || m.req !== req) throw new Error(`unexpected message: ${JSON.stringify(m)}`);
  }

  waitClosed(timeoutMs = 3000): Promise<void> {
    return Promise.race([
      this.closedP,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('connection did not close')), timeoutMs).unref()),
    ]);
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closedP;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * A fresh server for each test of a suite, and raw clients that are cut when it ends.
 * `restart(opts)` swaps in a server with other options mid-test.
 */
export function useTestServer(opts: ServerOptions = {}) {
  let server: RunningServer;
  const clients: RawClient[] = [];
  beforeEach(async () => {
    server = await testServer(opts);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await server.close();
  });
  const track = (c: RawClient) => (clients.push(c), c);
  return {
    get server() {
      return server;
    },
    async restart(other: ServerOptions) {
      await server.close();
      server = await testServer(other);
    },
    connect: async () => track(await RawClient.connect(server.port)),
    registered: async (name: string) => track(await RawClient.register(server.port, name)),
  };
}

/**
 * Writes `data` over and over as fast as the socket takes it (waiting for 'drain' when it is full)
 * until the socket closes or `maxWrites` have gone; returns how many went.
 */
export async function pour(socket: net.Socket, data: string | Buffer, maxWrites = Infinity): Promise<number> {
  let sent = 0;
  while (!socket.destroyed && sent < maxWrites) {
    sent++;
    if (socket.write(data)) continue;
    await new Promise<void>((resolve) => {
      const go = () => {
        socket.off('drain', go);
        socket.off('close', go);
        resolve();
      };
      socket.on('drain', go);
      socket.on('close', go);
    });
  }
  return sent;
}

export interface MemoryFigures {
  rss: number;
  /** The most RSS it has had so far. */
  maxRss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
}

/**
 * A server in a process of its own (built code from dist/), for tests about the server crashing,
 * stalling or growing: its memory is its own and its death does not take the test runner with it.
 */
export class ServerChild {
  private err = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stderr?.on('data', (d) => (this.err += d));
  }

  /** `fdLimit`: the child's open-file limit (set with the shell's ulimit before it starts). */
  static async start(opts: Record<string, unknown> = {}, { fdLimit }: { fdLimit?: number } = {}): Promise<ServerChild> {
    const script = path.join(__dirname, 'server-child.js');
    const args = [JSON.stringify(opts)];
    const child =
      fdLimit === undefined
        ? fork(script, args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
        : spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, '--expose-gc', script, ...args], {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          });
    let early = '';
    child.stderr!.on('data', (d) => (early += d));
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`server child exited ${code}: ${early}`)));
    });
    const s = new ServerChild(child, port);
    s.err = early;
    return s;
  }

  /** What it logged so far. */
  get stderr(): string {
    return this.err;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Its memory after two full collections, and its registered clients. */
  memory(): Promise<MemoryFigures & { clients: number }> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`server child exited ${code}: ${this.err.slice(-2000)}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: { memory: MemoryFigures & { clients: number } }) => {
        this.child.off('exit', onExit);
        resolve(m.memory);
      });
      this.child.send('memory');
    });
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill();
    await exited;
  }
}

/**
 * A server in its own process for each test of a suite, with raw clients that are cut when the
 * test ends: for tests that hurt the server and must see it survive.
 */
export function useServerChild(opts: Record<string, unknown> = {}) {
  let server: ServerChild;
  const clients: RawClient[] = [];
  beforeEach(async () => {
    server = await ServerChild.start(opts);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await server.stop();
  });
  return {
    get server() {
      return server;
    },
    async register(name: string): Promise<RawClient> {
      const c = await RawClient.register(server.port, name);
      clients.push(c);
      return c;
    },
    async connect(): Promise<RawClient> {
      const c = await RawClient.connect(server.port);
      clients.push(c);
      return c;
    },
  };
}

