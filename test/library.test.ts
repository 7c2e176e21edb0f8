import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Phone, startServer } from '../src';
import { readWavMono48k } from '../src/audio';
import { dominantFrequency } from './helpers/audio';

/** The README's library example, as written there, against the package's entry point. */
test('the README library example places a call and records the other side', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-lib-'));
  const wav = path.join(dir, 'bob.wav');
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
  const at = { host: '127.0.0.1', port: server.port };
  const bob = await Phone.connect({ server: at, input: 'tone:660', output: wav });
  const alice = await Phone.connect({ server: at, input: 'tone:440' });
  try {
    await bob.register('bob');
    bob.on('incoming', (call) => void call.accept());
    await alice.register('alice');
    const call = await alice.call('bob').result;
    expect(call.peer).toBe('bob');
    await new Promise((r) => setTimeout(r, 1500));
    expect(call.stats().packetsReceived).toBeGreaterThan(40);
    await call.hangup();
    // bob's side ends on the server's word and closes its WAV.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && readWavMono48k(wav).length < 48000) await new Promise((r) => setTimeout(r, 100));
    expect(Math.abs(dominantFrequency(readWavMono48k(wav)) - 440)).toBeLessThan(15);
  } finally {
    await alice.close();
    await bob.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
