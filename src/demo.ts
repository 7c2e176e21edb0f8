/**
 * `npm run demo`: a server and two clients on loopback. alice calls bob with a 440 Hz tone,
 * bob answers with a 660 Hz one; they talk for a few seconds, then alice hangs up. Prints what
 * happens and the call statistics, and saves what each side heard as WAV files.
 */
import { accessSync, constants, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SAMPLE_RATE } from './audio';
import { WAV_HEADER_BYTES } from './audio/wav';
import { Phone, type ActiveCall, type CallStats } from './client/phone';
import { startServer } from './server';

const TALK_MS = 3000;

async function main(): Promise<void> {
  const outDir = outputDir();
  const heard = { alice: path.join(outDir, 'alice-heard.wav'), bob: path.join(outDir, 'bob-heard.wav') };
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
  say(`server listening on 127.0.0.1:${server.port}`);

  const connect = async (name: string, input: string, output: string) => {
    const phone = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', input, output });
    await phone.register(name);
    say(`${name} registered (sends ${input}, records to ${output})`);
    return phone;
  };
  const alice = await connect('alice', 'tone:440', heard.alice);
  const bob = await connect('bob', 'tone:660', heard.bob);
  say(`online: ${(await alice.list()).map((u) => `${u.name} (${u.status})`).join(', ')}`);

  const bobCall = new Promise<ActiveCall>((resolve, reject) =>
    bob.once('incoming', (incoming) => {
      say(`bob: ${incoming.from} is calling — answering`);
      incoming.accept().then(resolve, reject);
    }),
  );
  say('alice: calling bob…');
  const aliceCall = await alice.call('bob').result;
  await bobCall;
  say(`connected: ${aliceCall.codec.name} via ${aliceCall.codec.backend}, ${aliceCall.frameMs} ms frames`);
  await new Promise((r) => setTimeout(r, TALK_MS));

  const aliceStats = aliceCall.stats();
  const bobEnded = new Promise<{ reason: string }>((resolve) => bobCall.then((c) => c.once('ended', resolve)));
  await aliceCall.hangup();
  say(`alice hung up; bob was told: ${(await bobEnded).reason}`);
  const bobStats = (await bobCall).stats();
  printStats('alice', aliceStats);
  printStats('bob', bobStats);

  await Promise.all([alice.close(), bob.close()]);
  await server.close();
  for (const [who, file] of Object.entries(heard)) {
    const seconds = (statSync(file).size - WAV_HEADER_BYTES) / (SAMPLE_RATE * 2);
    say(`${who} heard ${seconds.toFixed(1)} s of audio: ${file}`);
  }
  say('done');
}

function printStats(who: string, s: CallStats): void {
  const rtt = s.rttMs === null ? '-' : `${s.rttMs.toFixed(1)} ms`;
  say(
    `${who}: sent ${s.packetsSent} packets, received ${s.packetsReceived}, lost ${s.packetsLost} (${s.lossPercent.toFixed(1)}%), ` +
      `jitter ${s.jitterMs.toFixed(2)} ms, buffer ${s.bufferDelayMs.toFixed(0)} ms, RTT ${rtt}`,
  );
}

/** ./out when it can be written, else a fresh temporary folder. */
function outputDir(): string {
  const local = path.resolve('out');
  try {
    mkdirSync(local, { recursive: true });
    accessSync(local, constants.W_OK);
    return local;
  } catch {
    return mkdtempSync(path.join(tmpdir(), 'parley-demo-'));
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    process.exit(1);
  },
);
