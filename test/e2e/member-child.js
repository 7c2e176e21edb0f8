// A room member in a process of its own (built code from dist/, as server-child.js): a phone
// with a tone source and a recording sink, joined to one room. Rooms of many members run their
// members here, so that each member's clock, sockets and mixing have a process (and a share of
// the machine) of their own: eight members on the test's one event loop need most of a core,
// and on a loaded machine fall behind all at once.
//
// argv[2] is JSON: { port, name, tone, room, codecs?, walled? }. `walled: { udpPort }` walls the
// member in: it advertises a dead-end candidate (port 9), and a firewall lets its socket talk
// to the server's UDP port only (datagrams to any other port are not sent, from any other port
// not received), so no one reaches it directly and its checks reach no one.
//
// Over IPC it reports { ready } once in the room, then { event: 'started', terms, isOwner } when
// media runs ({ event: 'ended', end } if the room ends for it); it answers requests
// { id, cmd, ... } with { id, result } or { id, error }:
//   members            → the room's member count
//   start {topology}   → starts the room (the owner)
//   stats              → the room media's { pairs, sent, uploaded } (packets), read at one
//                         instant, and the room's terms (null figures when no media runs)
//   mark               → judging looks only at what is played from now on
//   stalls {since}     → its own event loop's stalls that ended after `since`
//   status {stalls}    → { played: frames since the mark, calm: whether a calm second is there }
//   judge {tones, stalls} → { levels: dB of each tone in the latest calm second (the latest
//                         second when none was calm), calm, frames, sent: packets sealed }
// It measures its own event loop's stalls (what LoopStalls does in media-helpers.ts). A member
// hears what the others sent, through the forwarder: a stall of theirs, or of the test's
// process, is a gap in its streams as much as one of its own. So the test gathers every
// process's stalls (its own among them) and hands them in (`stalls`), and a second is calm when
// none of them, nor the settle time after one, touched it (what calmWindow does). Times are milliseconds since the
// epoch, performance's clock (timeOrigin + now): the same in every process on the machine.
const dgram = require('node:dgram');
const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const { Phone } = require('../../dist/client/phone');
const { ToneSource } = require('../../dist/audio');

const { port, name, tone, room: roomId, codecs, walled } = JSON.parse(process.argv[2]);

if (walled) {
  // The firewall: this process's only UDP socket is the phone's media socket.
  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (...args) {
    // send(msg, port, address, cb), or send(msg, offset, length, port, address, cb).
    const to = typeof args[1] === 'number' && typeof args[2] === 'number' ? args[3] : args[1];
    if (to !== walled.udpPort) return;
    return send.apply(this, args);
  };
  const emit = dgram.Socket.prototype.emit;
  dgram.Socket.prototype.emit = function (event, ...args) {
    if (event === 'message' && args[1] && args[1].port !== walled.udpPort) return false;
    return emit.call(this, event, ...args);
  };
}
/** The dead end a walled member advertises: its host candidate, on port 9 instead of its own. */
const deadEnd = (host) => [{ ...host[0], port: 9 }];
const SECOND = 50;
const SETTLE_MS = 500;
const STALL_EVERY_MS = 5;
const STALL_THRESHOLD_MS = 8;

const frames = [];
const times = [];
/** RecordingSink's frames and times, without the rest. */
const sink = Object.assign(new EventEmitter(), {
  description: 'recording',
  async open() {},
  write(frame) {
    frames.push(frame.slice());
    times.push(performance.timeOrigin + performance.now());
  },
  async close() {},
});

const spans = [];
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - last - STALL_EVERY_MS;
  if (late > STALL_THRESHOLD_MS) spans.push({ from: performance.timeOrigin + now - late - STALL_EVERY_MS, to: performance.timeOrigin + now });
  last = now;
}, STALL_EVERY_MS);

let mark = 0;
let mediaCount = 0;
/** The room's events, each passed on as it happens: { event, payload, isOwner }. */
const EVENTS = ['member_joined', 'member_left', 'owner', 'offer', 'acked', 'nacked', 'started', 'incompatible', 'audio', 'untrusted', 'ended'];

/** [from, to) of the latest SECOND frames since the mark that none of `stalls` touched; null when every one was. */
function calmWindow(stalls) {
  const since = times[mark] ?? Infinity;
  const near = stalls.filter((s) => s.to + SETTLE_MS >= since);
  for (let end = frames.length; end - SECOND >= mark; end--) {
    const from = times[end - SECOND];
    const to = times[end - 1];
    if (!near.some((s) => s.from <= to && s.to + SETTLE_MS >= from)) return [end - SECOND, end];
  }
  return null;
}

function levelDb(from, to, freq) {
  const w = (2 * Math.PI * freq) / 48000;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let n = 0;
  for (let f = from; f < to; f++) {
    const x = frames[f];
    for (let i = 0; i < x.length; i++) {
      const s0 = x[i] + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    n += x.length;
  }
  const power = n ? (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n) : 0;
  return 10 * Math.log10(power / (32768 * 32768) + 1e-20);
}

async function main() {
  const phone = await Phone.connect({ server: { host: '127.0.0.1', port }, udpHost: '127.0.0.1', codecs: codecs ?? ['opus', 'pcm'], stun: false, relay: 'off', ...(walled ? { candidates: deadEnd } : {}) });
  await phone.register(name);
  const room = await phone.enterRoom('join', roomId, { input: new ToneSource(tone, 0.25), output: sink });
  for (const event of EVENTS) room.on(event, (payload) => process.send({ event, payload, isOwner: room.isOwner }));
  // Which media object the room runs (a new round with the same terms keeps it): a number per object.
  const mediaIds = new WeakMap();
  const commands = {
    members: () => room.members.length,
    start: async ({ topology }) => {
      await room.start({ topology });
      return true;
    },
    leave: async () => {
      await room.leave();
      return true;
    },
    state: () => {
      const media = room.media;
      if (media && !mediaIds.has(media)) mediaIds.set(media, ++mediaCount);
      return { isOwner: room.isOwner, members: room.members.length, terms: room.terms, media: media ? mediaIds.get(media) : null };
    },
    stats: () => {
      const stats = room.media ? room.media.stats() : null;
      return {
        pairs: stats ? stats.pairs : {},
        sent: stats ? stats.sent.packets : null,
        uploaded: stats ? stats.uploaded.packets : null,
        terms: room.terms,
      };
    },
    mark: () => {
      mark = frames.length;
      return true;
    },
    stalls: ({ since }) => spans.filter((s) => s.to >= since),
    status: ({ stalls }) => ({ played: frames.length - mark, calm: calmWindow(stalls) !== null }),
    judge: ({ tones, stalls }) => {
      const calm = calmWindow(stalls);
      const [from, to] = calm ?? [Math.max(0, frames.length - SECOND), frames.length];
      return { levels: tones.map((t) => levelDb(from, to, t)), calm: calm !== null, frames: frames.length, sent: room.media ? room.media.stats().sent.packets : 0 };
    },
  };
  process.on('message', async (m) => {
    try {
      process.send({ id: m.id, result: await commands[m.cmd](m) });
    } catch (err) {
      process.send({ id: m.id, error: String(err && err.stack ? err.stack : err) });
    }
  });
  process.send({ ready: true });
}

process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  process.stderr.write(`member ${name}: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
