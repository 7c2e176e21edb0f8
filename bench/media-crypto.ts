/**
 * The CPU cost of end-to-end media encryption: SRTP AEAD_AES_128_GCM seal (sender) plus open
 * (receiver, with the replay window) per packet, for real packets — a tone through the codec
 * and RtpSender, bare and with the RED redundancy calls use. That CPU time is also the latency
 * encryption adds to each packet (it runs inline, once on each side). Median of several runs.
 * Writes bench/results/media-crypto.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getCodec } from '../src/audio';
import { frameSamples } from '../src/audio/types';
import { SrtpOpener, SrtpSealer } from '../src/media/crypto/srtp-gcm';
import { RtpSender } from '../src/media/rtp-sender';

const PACKETS = 20_000;
const RUNS = 7;
const TARGET_MS = 0.2;

function packets(codec: 'opus' | 'pcm', red: boolean): Buffer[] {
  const c = getCodec(codec);
  const enc = c.createEncoder({ frameMs: 20 });
  const step = (c.clockRate * 20) / 1000;
  const sender = new RtpSender({ payloadType: c.payloadType, timestampStep: step, ssrc: 0x12345678, red: red ? { payloadType: 63 } : false, redundancy: codec === 'opus' ? 2 : 1 });
  const n = frameSamples(20);
  const out: Buffer[] = [];
  let t = 0;
  // 500 distinct packets (10 s of a 440 Hz tone), cycled: the cipher sees real sizes and bytes.
  for (let i = 0; i < 500; i++) {
    const frame = new Int16Array(n);
    for (let k = 0; k < n; k++, t++) frame[k] = Math.round(9000 * Math.sin((2 * Math.PI * 440 * t) / 48000));
    out.push(sender.packetize(enc.encode(frame)));
  }
  enc.close();
  return out;
}

/** µs of CPU per packet for seal + open, one run of PACKETS packets. */
function run(source: Buffer[]): { sealUs: number; openUs: number } {
  const k = { key: Buffer.alloc(16, 9), salt: Buffer.alloc(12, 5) };
  const sealer = new SrtpSealer(k);
  const opener = new SrtpOpener(k);
  const sealed: Buffer[] = new Array(PACKETS);
  // Sequence numbers count on across the cycled packets (and wrap), as on a real call.
  const t0 = performance.now();
  for (let i = 0; i < PACKETS; i++) {
    const p = source[i % source.length];
    p.writeUInt16BE(i & 0xffff, 2);
    sealed[i] = sealer.seal(p);
  }
  const t1 = performance.now();
  for (let i = 0; i < PACKETS; i++) if (!opener.open(sealed[i]).ok) throw new Error(`packet ${i} did not open`);
  const t2 = performance.now();
  return { sealUs: ((t1 - t0) * 1000) / PACKETS, openUs: ((t2 - t1) * 1000) / PACKETS };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function measure(codec: 'opus' | 'pcm', red: boolean) {
  const source = packets(codec, red);
  run(source); // warm-up: JIT and OpenSSL's first contexts
  const runs = Array.from({ length: RUNS }, () => run(source));
  const seal = median(runs.map((r) => r.sealUs));
  const open = median(runs.map((r) => r.openUs));
  const bytes = Math.round(source.reduce((a, p) => a + p.length, 0) / source.length);
  const addedMs = (seal + open) / 1000;
  return { codec, frameMs: 20, red, packetBytes: bytes, sealUs: round(seal), openUs: round(open), sealPlusOpenUs: round(seal + open), addedLatencyMs: round(addedMs, 4), targetMs: TARGET_MS, withinTarget: addedMs <= TARGET_MS, runs: RUNS, packetsPerRun: PACKETS };
}

function main(): void {
  const results = [measure('opus', false), measure('opus', true), measure('pcm', false), measure('pcm', true)];
  for (const r of results) {
    console.log(
      `${r.codec} 20 ms${r.red ? ' + RED' : ''} (${r.packetBytes} B/packet): seal ${r.sealUs} µs + open ${r.openUs} µs = ${r.sealPlusOpenUs} µs per packet` +
        ` → ${r.addedLatencyMs} ms added (target ≤ ${TARGET_MS} ms)${r.withinTarget ? '' : '  OVER TARGET'}`,
    );
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'media-crypto.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
}

main();
