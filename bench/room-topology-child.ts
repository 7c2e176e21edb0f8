/**
 * One room member in its own process, for the room-topology benchmark: a real Phone (signaling,
 * sender keys, mesh paths or forwarder) sending a tone and mixing into a null sink. On request
 * it reports its CPU time per second of audio and what it uploaded, so the figures are this
 * member's alone.
 */
import { performance } from 'node:perf_hooks';
import { NullSink, ToneSource } from '../src/audio';
import { Phone, type RoomSession } from '../src/client/phone';

export type TopologyChildRequest = { type: 'join'; port: number; room: string; name: string } | { type: 'measure'; seconds: number } | { type: 'exit' };

let phone: Phone | undefined;
let room: RoomSession | undefined;

async function join(req: Extract<TopologyChildRequest, { type: 'join' }>): Promise<void> {
  phone = await Phone.connect({ server: { host: '127.0.0.1', port: req.port }, udpHost: '127.0.0.1', codecs: ['opus'], stun: false, relay: 'off' });
  await phone.register(req.name);
  room = await phone.enterRoom('join', req.room, { input: new ToneSource(440, 0.2), output: new NullSink() });
  room.once('started', () => process.send?.({ type: 'started' }));
  process.send?.({ type: 'joined' });
}

async function measure(seconds: number): Promise<void> {
  const media = room!.media!;
  const before = media.stats();
  const cpu = process.cpuUsage();
  const at = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(cpu);
  const wall = (performance.now() - at) / 1000;
  const after = media.stats();
  process.send?.({
    type: 'measured',
    topology: after.topology,
    cpuMsPerSecond: (used.user + used.system) / 1000 / wall,
    uploadPacketsPerSecond: (after.uploaded.packets - before.uploaded.packets) / wall,
    uploadBytesPerSecond: (after.uploaded.bytes - before.uploaded.bytes) / wall,
    pairs: after.pairs,
  });
}

process.on('message', (m: TopologyChildRequest) => {
  if (m.type === 'join') void join(m).catch((err) => (console.error(err), process.exit(1)));
  else if (m.type === 'measure') void measure(m.seconds);
  else void Promise.resolve(phone?.close()).finally(() => process.exit(0));
});
