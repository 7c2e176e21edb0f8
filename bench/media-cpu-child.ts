/**
 * One parley client in its own process, for the CPU benchmark: registers as "cpu", answers
 * every call with a tone into a null sink, and on request reports its CPU time over an interval.
 */
import { Phone } from '../src/client/phone';

async function main(): Promise<void> {
  const [port, frameMs, codec] = process.argv.slice(2);
  const phone = await Phone.connect({
    server: { host: '127.0.0.1', port: Number(port) },
    udpHost: '127.0.0.1',
    frameMs: Number(frameMs) as 10 | 20 | 40,
    codecs: [codec as 'opus' | 'pcm'],
    input: 'tone',
    output: 'null',
  });
  await phone.register('cpu');
  phone.on('incoming', (c) => void c.accept().then(() => process.send?.({ type: 'in-call' })));
  let mark: { cpu: NodeJS.CpuUsage; at: number } | undefined;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'start') mark = { cpu: process.cpuUsage(), at: performance.now() };
    if (m.type === 'stop' && mark) {
      const used = process.cpuUsage(mark.cpu);
      const wallMs = performance.now() - mark.at;
      process.send?.({ type: 'cpu', userMs: used.user / 1000, systemMs: used.system / 1000, wallMs });
    }
    if (m.type === 'exit') void phone.close().then(() => process.exit(0));
  });
  process.send?.({ type: 'ready' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
