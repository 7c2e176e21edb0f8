/**
 * The per-frame work of one side of a call in plain Node, for bench/client-cpu.ts: the twin of
 * bench/native-loop.c, so the two rows differ only in the runtime. Every 20 ms (absolute
 * deadlines, one timer) a frame of the WAV is Opus-encoded (VoIP, 24 kbit/s, through the binding
 * parley uses) and sent to the peer with a 12-byte RTP header; datagrams from the peer are decoded
 * as they arrive. No jitter buffer, encryption or playback, and the cheapest sends dgram has:
 * the least a Node client does.
 *
 *   node node-loop.js WAV LOCAL_PORT PEER_PORT   (127.0.0.1; prints "ready" once it runs; on
 *                                                SIGTERM, "sent S decoded D" and exits)
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DEFAULT_OPUS_BITRATE, loadOpusBinding } from '../src/audio/codecs/opus';

const FRAME = 960;
const FRAME_MS = 20;
const HEADER = 12;
const WAV_HEADER = 44;

const [wavPath, localPort, peerPort] = process.argv.slice(2);
const pcm = readFileSync(wavPath).subarray(WAV_HEADER);
const opus = loadOpusBinding('native');
const encoder = opus.create();
encoder.setBitrate(DEFAULT_OPUS_BITRATE);
const decoder = opus.create();

let sent = 0;
let decoded = 0;
let at = 0;
let seq = 0;
let ts = 0;
// The peer is an address literal: answering the lookup at once spares each send a DNS round through the next tick.
const socket = dgram.createSocket({ type: 'udp4', lookup: (address, _family, done) => done(null, address, 4) });
socket.on('message', (msg) => {
  if (msg.length > HEADER && decoder.decode(msg.subarray(HEADER)).length > 0) decoded++;
});

function frame(): void {
  if (at + FRAME * 2 > pcm.length) at = 0;
  const payload = encoder.encode(pcm.subarray(at, at + FRAME * 2), FRAME);
  at += FRAME * 2;
  const packet = Buffer.allocUnsafe(HEADER + payload.length);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(ts, 4);
  packet.writeUInt32BE(0, 8);
  payload.copy(packet, HEADER);
  seq = (seq + 1) & 0xffff;
  ts = (ts + FRAME) >>> 0;
  // No completion callback: without one, a datagram the kernel takes at once costs no further event.
  socket.send(packet, Number(peerPort), '127.0.0.1');
  sent++;
}

socket.bind(Number(localPort), '127.0.0.1', () => {
  let next = performance.now();
  const tick = () => {
    frame();
    next += FRAME_MS;
    setTimeout(tick, Math.max(0, next - performance.now()));
  };
  tick();
  process.stdout.write('ready\n');
});

process.on('SIGTERM', () => {
  process.stdout.write(`sent ${sent} decoded ${decoded}\n`);
  process.exit(0);
});
