// The soak's child processes speak the wire protocol with this, not with the built client:
// a socket from a chosen source address, its lines parsed as they come, and the server's
// closing of it told apart from our own.
const net = require('node:net');
const { StringDecoder } = require('node:string_decoder');

class Peer {
  constructor(socket) {
    this.socket = socket;
    /** Messages not consumed by next(); when `onMessage` is set, messages go there instead. */
    this.queue = [];
    this.onMessage = null;
    /** Sees every message first (for counting), whoever consumes it. */
    this.tap = null;
    this.closed = false;
    /** Whether we closed it ourselves (destroy()), rather than the server. */
    this.ours = false;
    this.waiters = [];
    const decoder = new StringDecoder('utf8');
    let pending = '';
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      pending += decoder.write(chunk);
      let nl;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          m = { type: '?unparsable', line: line.slice(0, 200) };
        }
        if (this.tap) this.tap(m);
        if (this.onMessage) this.onMessage(m);
        else this.queue.push(m);
        this.wake();
      }
    });
    // The server resets a closing connection that goes on sending: its goodbye may go unread.
    this.reset = false;
    socket.on('error', (err) => {
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

  static connect(port, from) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new Peer(s));
      });
    });
  }

  /** Connects and registers `name`; resolves with the peer, or rejects with what the server said. */
  static async register(port, from, name) {
    const p = await Peer.connect(port, from);
    p.send({ type: 'hello', version: 1, name });
    const m = await p.next(30_000);
    if (m.type !== 'welcome') {
      p.destroy();
      const e = new Error(`registering ${name}: ${JSON.stringify(m)}`);
      e.reply = m;
      throw e;
    }
    return p;
  }

  send(msg) {
    if (!this.socket.destroyed) this.socket.write(JSON.stringify(msg) + '\n');
  }

  /** Writes and resolves once the socket has taken it (or closed): a writer that respects backpressure. */
  write(data) {
    if (this.socket.destroyed) return Promise.resolve(false);
    if (this.socket.write(data)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const go = () => {
        this.socket.off('drain', go);
        this.socket.off('close', go);
        resolve(!this.socket.destroyed);
      };
      this.socket.on('drain', go);
      this.socket.on('close', go);
    });
  }

  /** The next message, queued or yet to come. */
  next(timeoutMs = 10_000) {
    return this.take(() => true, timeoutMs);
  }

  /** The next message of one of `types` (others are dropped). */
  async nextOf(types, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (types.includes(m.type)) return m;
    }
  }

  /** Takes the first message (queued or yet to come) that `pred` accepts; the others stay queued. */
  async take(pred, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.queue.length; seen++) {
        if (pred(this.queue[seen])) return this.queue.splice(seen, 1)[0];
      }
      if (this.closed) throw new Error('closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy() {
    this.ours = true;
    this.socket.destroy();
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A name of exactly 32 characters: the longest the protocol allows, so lists cost the most. */
function longName(prefix, n) {
  const s = `${prefix}-${n}-`;
  return s + 'x'.repeat(32 - s.length);
}

/** Milliseconds since the epoch, with a fraction: comparable across processes on one machine. */
const { performance } = require('node:perf_hooks');
const nowMs = () => performance.timeOrigin + performance.now();

module.exports = { Peer, sleep, longName, nowMs };
