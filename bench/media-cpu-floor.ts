/**
 * The floor under bench/media-cpu on this machine: what Node alone costs for a call's wake-ups,
 * with no codec and no media code. Two processes each send a 200-byte datagram every 20 ms and
 * receive the other's; with `--playout` each arrival also arms a timer 4 ms later, the third
 * wake-up per frame a client with a separate playout clock has. Prints the child's CPU.
 */
import dgram from 'node:dgram';
import { fork, type ChildProcess } from 'node:child_process';

const FRAME_MS = 20;
const PLAYOUT_AFTER_MS = 4;
const WARM_UP_MS = 2000;
const MEASURE_MS = 10_000;
const playout = process.argv.includes('--playout');

/** Binds a socket that answers nothing; `go(port)` starts sending to the peer's port. */
function peer(): Promise<{ port: number; go: (to: number) => void }> {
  const socket = dgram.createSocket('udp4');
  const packet = Buffer.alloc(200);
  socket.on('message', () => {
    if (playout) setTimeout(() => undefined, PLAYOUT_AFTER_MS);
  });
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () =>
      resolve({
        port: socket.address().port,
        go: (to) => setInterval(() => socket.send(packet, to, '127.0.0.1'), FRAME_MS),
      }),
    ),
  );
}

const nextMessage = (p: NodeJS.Process | ChildProcess) => new Promise<number>((r) => p.once('message', (m) => r(m as number)));

async function child(): Promise<void> {
  const me = await peer();
  process.send?.(me.port);
  me.go(await nextMessage(process));
  await new Promise((r) => setTimeout(r, WARM_UP_MS));
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const used = process.cpuUsage(before);
  process.send?.((100 * (used.user + used.system)) / 1000 / MEASURE_MS);
  process.exit(0);
}

async function parent(): Promise<void> {
  const kid = fork(__filename, [...process.argv.slice(2), '--child']);
  const me = await peer();
  const theirs = await nextMessage(kid);
  kid.send(me.port);
  me.go(theirs);
  const cpu = await nextMessage(kid);
  console.log(`UDP every ${FRAME_MS} ms both ways${playout ? ' + playout timer' : ''}: ${cpu.toFixed(2)}% of one core`);
  process.exit(0);
}

(process.argv.includes('--child') ? child() : parent()).catch((err) => {
  console.error(err);
  process.exit(1);
});
