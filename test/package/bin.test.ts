/** bin/ without dist/ (a fresh checkout, or a build that failed): a one-line hint, not a stack trace. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const unbuilt = mkdtempSync(path.join(tmpdir(), 'parley-unbuilt-'));
cpSync(path.join(__dirname, '../../bin'), path.join(unbuilt, 'bin'), { recursive: true });
afterAll(() => rmSync(unbuilt, { recursive: true, force: true }));

test.each(['parley', 'parley-server'])('%s says to build when dist/ is missing, and exits 1', (command) => {
  const r = spawnSync(process.execPath, [path.join(unbuilt, 'bin', command), '--version'], { encoding: 'utf8' });
  expect(r.stderr).toBe('parley is not built: run npm run build\n');
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
});
