/**
 * One parley client in its own process for bench/client-cpu: registers, then either calls the
 * peer named on the command line or answers the first call; file input, null output, Opus 20 ms.
 * Reports "in-call" once media flows, mutes on request and reports what was enabled.
 */
import { Phone, type VoiceSettings } from '../src/client/phone';
import type { ActiveCall } from '../src/client/call-active';

interface Args {
  port: number;
  name: string;
  /** Peer to call; none: answer. */
  peer?: string;
  input: string;
  voice: Partial<VoiceSettings>;
  muted: boolean;
}

/** What the call says it runs, where it exposes that (voice engines and stages, once they exist). */
function active(call: ActiveCall): unknown {
  const c = call as unknown as Record<string, unknown>;
  for (const key of ['voice', 'voiceProcessing', 'processing']) {
    const v = c[key];
    if (v !== undefined) return typeof v === 'function' ? (v as () => unknown).call(call) : v;
  }
  const stats = call.stats() as unknown as Record<string, unknown>;
  for (const key of ['voice', 'processing']) if (stats[key] !== undefined) return stats[key];
  return undefined;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as Args;
  const phone = await Phone.connect({
    server: { host: '127.0.0.1', port: args.port },
    udpHost: '127.0.0.1',
    frameMs: 20,
    codecs: ['opus'],
    input: args.input,
    output: 'null',
    voice: args.voice,
    relay: 'off',
    stun: false,
  });
  await phone.register(args.name);
  const started = (call: ActiveCall) => {
    if (args.muted) call.muted = true;
    process.send?.({ type: 'in-call', pid: process.pid, muted: call.muted, active: active(call) ?? null });
  };
  if (args.peer) {
    process.on('message', (m: { type: string }) => {
      if (m.type === 'dial') void phone.call(args.peer!).result.then(started);
    });
  } else {
    phone.on('incoming', (c) => void c.accept().then(started));
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'exit') void phone.close().then(() => process.exit(0));
  });
  process.send?.({ type: 'ready', pid: process.pid });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
