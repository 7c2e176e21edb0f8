/**
 * How long a client takes to get its name back after the server restarts: parley-server in its
 * own process on a fixed port, a Phone registered on it (the library, as the CLI uses it, with
 * the default back-off: 0.25 s doubling to 5 s, ±25 % jitter). Each round kills the server
 * (SIGKILL), starts a new one on the same port and times
 *   ready → registered   the new server printed "listening" → the phone's server_reconnected
 *   kill → registered    the kill → server_reconnected (includes the server's own start-up)
 * `--restarts` rounds (7 by default); `--down-ms N` keeps the server down N ms before restarting
 * it (0 by default), to see what the back-off adds to a longer outage. Medians and the worst.
 * Writes bench/results/reregister.json (reregister-down-N.json with --down-ms).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Phone } from '../src/client/phone';
import { percentile, round } from './media-harness';

const ROOT = path.join(__dirname, '..', '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts parley-server on `port`; resolves when it says it listens, with that moment. */
function startServer(port: number): Promise<{ child: ChildProcess; readyAt: number }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'parley-server'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) resolve({ child, readyAt: performance.now() });
    });
    child.once('exit', (code) => reject(new Error(`parley-server exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const restarts = option('restarts', 7);
  const downMs = option('down-ms', 0);
  const port = await freePort();
  let server = await startServer(port);
  const phone = await Phone.connect({ server: { host: '127.0.0.1', port } });
  await phone.register('bench');
  const samples: { readyToRegisteredMs: number; killToRegisteredMs: number; attempts: number }[] = [];
  for (let i = 0; i < restarts; i++) {
    const lost = new Promise((r) => phone.once('server_reconnecting', r));
    const back = new Promise<{ attempts: number }>((r) => phone.once('server_reconnected', r));
    const killedAt = performance.now();
    server.child.removeAllListeners('exit');
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await Promise.all([exited, lost]);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    server = await startServer(port);
    const { attempts } = await back;
    const at = performance.now();
    samples.push({ readyToRegisteredMs: round(at - server.readyAt, 1), killToRegisteredMs: round(at - killedAt, 1), attempts });
    process.stdout.write(`restart ${i + 1}: registered ${round(at - server.readyAt, 1)} ms after the server was ready, ${round(at - killedAt, 1)} ms after the kill (${attempts} attempts)\n`);
  }
  await phone.close();
  server.child.kill('SIGKILL');
  const ready = samples.map((s) => s.readyToRegisteredMs);
  const kill = samples.map((s) => s.killToRegisteredMs);
  const summary = {
    readyToRegisteredMs: { median: round(percentile(ready, 0.5), 1), max: Math.max(...ready) },
    killToRegisteredMs: { median: round(percentile(kill, 0.5), 1), max: Math.max(...kill) },
  };
  process.stdout.write(
    `median: ${summary.readyToRegisteredMs.median} ms after the server was ready (worst ${summary.readyToRegisteredMs.max}), ` +
      `${summary.killToRegisteredMs.median} ms after the kill (worst ${summary.killToRegisteredMs.max})\n`,
  );
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, downMs ? `reregister-down-${downMs}.json` : 'reregister.json'), JSON.stringify({ when: new Date().toISOString(), restarts, downMs, samples, summary }, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
