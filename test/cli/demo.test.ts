/** `npm run demo` (the built dist/demo.js): a whole call on loopback, WAV files saved, exit 0. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeWav } from '../../src/audio/wav';
import { dominantFrequency } from '../helpers/audio';

test('the demo calls, prints the statistics, saves what each side heard and exits 0', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'parley-demo-test-'));
  try {
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../dist/demo.js')], { cwd, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('bob: alice is calling — answering');
    expect(r.stdout).toMatch(/alice: sent \d+ packets, received [1-9]\d*/);
    const heard = (who: string) => decodeWav(readFileSync(path.join(cwd, 'out', `${who}-heard.wav`))).samples.subarray(24000);
    expect(Math.abs(dominantFrequency(heard('alice'), 48000, 200, 1000) - 660)).toBeLessThanOrEqual(10);
    expect(Math.abs(dominantFrequency(heard('bob'), 48000, 200, 1000) - 440)).toBeLessThanOrEqual(10);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
