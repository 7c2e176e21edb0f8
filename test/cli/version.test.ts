import { spawnSync } from 'node:child_process';
import path from 'node:path';

const bin = (name: string) => path.join(__dirname, '../../bin', name);
const { version } = require('../../package.json') as { version: string };

test('--version names the version and protocol; --verbose adds the backend report', () => {
  const server = spawnSync(process.execPath, [bin('parley-server'), '--version'], { encoding: 'utf8' });
  expect(server.status).toBe(0);
  expect(server.stdout).toBe(`parley-server ${version} (protocol v1)\n`);
  const client = spawnSync(process.execPath, [bin('parley'), '-V', '--verbose'], { encoding: 'utf8' });
  expect(client.status).toBe(0);
  expect(client.stdout).toMatch(new RegExp(`^parley ${version.replace(/\./g, '\\.')} \\(protocol v1, node [\\d.]+\\)\\n`));
  expect(client.stdout).toMatch(/opus +ok +@discordjs\/opus \(native libopus\)/);
  expect(client.stdout).toMatch(/pcm +ok/);
});
