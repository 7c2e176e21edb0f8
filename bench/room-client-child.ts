/**
 * One room member in its own process, for the room-client benchmark: a RoomMedia sending a tone
 * to the forwarder and mixing what comes back into a null sink; on request it reports its CPU
 * time in one-second intervals, so the figures are this client's alone.
 */
import { performance } from 'node:perf_hooks';
import { NullSink, ToneSource } from '../src/audio';
import type { SenderKey } from '../src/media/crypto/sender-keys';
import { RoomMedia } from '../src/media/room/room-media';
import { UdpLink } from '../src/media/udp-link';

export interface WireKey {
  name: string;
  key: string;
  salt: string;
  ssrc: number;
}

export type ChildRequest =
  | { type: 'join'; server: { address: string; port: number }; forward: { username: string; password: string }; own: WireKey; others: WireKey[] }
  | { type: 'measure'; seconds: number }
  | { type: 'exit' };

const fromWire = (k: WireKey): SenderKey => ({ key: Buffer.from(k.key, 'base64'), salt: Buffer.from(k.salt, 'base64'), ssrc: k.ssrc });

let media: RoomMedia | undefined;

async function join(req: Extract<ChildRequest, { type: 'join' }>): Promise<void> {
  const link = await UdpLink.open({ host: '127.0.0.1' });
  media = new RoomMedia({
    link,
    server: req.server,
    forward: req.forward,
    codec: { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20, red: true },
    send: fromWire(req.own),
    source: new ToneSource(440, 0.2),
    sink: new NullSink(),
  });
  for (const k of req.others) media.addSender(k.name, fromWire(k));
  const registered = new Promise((r) => media?.once('registered', r));
  await media.start();
  await registered;
  process.send?.({ type: 'ready', port: link.port });
}

async function measure(seconds: number): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < seconds; i++) {
    const cpu = process.cpuUsage();
    const at = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(cpu);
    samples.push((used.user + used.system) / 1000 / ((performance.now() - at) / 1000));
  }
  const stats = media?.stats();
  const members = Object.values(stats?.members ?? {});
  process.send?.({
    type: 'cpu',
    msPerSecond: samples,
    received: members.reduce((n, m) => n + m.received, 0),
    concealedMs: members.reduce((n, m) => n + m.concealedMs, 0),
    decryptFailed: members.reduce((n, m) => n + m.decryptFailed, 0),
    ticks: stats?.ticks ?? 0,
    sent: stats?.sent.packets ?? 0,
  });
}

process.on('message', (m: ChildRequest) => {
  if (m.type === 'join') void join(m);
  if (m.type === 'measure') void measure(m.seconds);
  if (m.type === 'exit') void (media?.stop() ?? Promise.resolve()).then(() => process.exit(0));
});
