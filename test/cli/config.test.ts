/**
 * Settings from the command line, the environment and the config file, in that order, as the
 * real `parley` process reads them; `parley config` says where each value came from.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import { EXIT } from '../../src/client/exit-codes';
import { RawClient, testServer } from '../helpers/signaling';
import { run } from './helpers/parley';

jest.setTimeout(30_000);

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-config-'));
  file = path.join(dir, 'config.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Row = { key: string; value: string | null; source: string; from: string };
async function shown(env: Record<string, string>): Promise<Record<string, Row>> {
  const r = run(['config', '--json'], { env });
  expect(await r.exited).toBe(EXIT.ok);
  const settings = (JSON.parse(r.out()) as { settings: Row[] }).settings;
  return Object.fromEntries(settings.map((s) => [s.key, s]));
}

test('config shows each value and where it came from: flag > environment > file > default', async () => {
  writeFileSync(file, JSON.stringify({ name: 'fromfile', server: 'files.example:7000', frame: 40 }));
  const rows = await shown({ PARLEY_CONFIG: file, PARLEY_SERVER: 'env.example:7001' });
  expect(rows.name).toMatchObject({ value: 'fromfile', source: 'config', from: file });
  expect(rows.server).toMatchObject({ value: 'env.example:7001', source: 'env', from: 'PARLEY_SERVER' });
  expect(rows.frame).toMatchObject({ value: '40', source: 'config' });
  expect(rows.hangupKey).toMatchObject({ value: 'h', source: 'default' });
  expect(rows.input).toMatchObject({ value: null, source: 'default' });
  const readable = run(['config'], { env: { PARLEY_CONFIG: file } });
  expect(await readable.exited).toBe(EXIT.ok);
  expect(readable.out()).toMatch(new RegExp(`^name +fromfile +${file.replace(/[.]/g, '\\.')}$`, 'm'));
  expect(readable.out()).toMatch(/^hangupKey +h +default$/m);
});

test('the config file and the environment are used by the commands themselves, and a flag beats both', async () => {
  const server: RunningServer = await testServer();
  const other: RunningServer = await testServer();
  const bob = await RawClient.register(server.port, 'bob');
  try {
    writeFileSync(file, JSON.stringify({ server: `127.0.0.1:${other.port}`, name: 'carol' }));
    // The file says the other server, where bob is not; the environment points to bob's.
    const viaEnv = run(['users'], { env: { PARLEY_CONFIG: file, PARLEY_SERVER: `127.0.0.1:${server.port}` } });
    expect(await viaEnv.exited).toBe(EXIT.ok);
    expect(viaEnv.out()).toBe('bob\tidle\n');
    expect(viaEnv.err()).toContain('registered as carol');
    const viaFile = run(['users'], { env: { PARLEY_CONFIG: file } });
    expect(await viaFile.exited).toBe(EXIT.ok);
    expect(viaFile.out()).toBe('');
    const viaFlag = run(['users', '--server', `127.0.0.1:${server.port}`, '--name', 'dave'], {
      env: { PARLEY_CONFIG: file, PARLEY_SERVER: `127.0.0.1:${other.port}` },
    });
    expect(await viaFlag.exited).toBe(EXIT.ok);
    expect(viaFlag.out()).toBe('bob\tidle\n');
    expect(viaFlag.err()).toContain('registered as dave');
  } finally {
    await bob.close();
    await server.close();
    await other.close();
  }
});

test('config set and unset edit the file at the XDG location, keeping the other settings', async () => {
  const xdg = path.join(dir, 'xdg');
  const env = { XDG_CONFIG_HOME: xdg, PARLEY_CONFIG: '' };
  const where = path.join(xdg, 'parley', 'config.json');
  const p = run(['config', 'path'], { env });
  expect(await p.exited).toBe(EXIT.ok);
  expect(p.out()).toBe(`${where}\n`);
  expect(await run(['config', 'set', 'name', 'alice'], { env }).exited).toBe(EXIT.ok);
  expect(await run(['config', 'set', 'hangupKey', 'x'], { env }).exited).toBe(EXIT.ok);
  expect(JSON.parse(readFileSync(where, 'utf8'))).toEqual({ name: 'alice', hangupKey: 'x' });
  expect(await run(['config', 'unset', 'name'], { env }).exited).toBe(EXIT.ok);
  expect(JSON.parse(readFileSync(where, 'utf8'))).toEqual({ hangupKey: 'x' });
  const bad = run(['config', 'set', 'frame', '30'], { env });
  expect(await bad.exited).toBe(EXIT.usage);
  expect(bad.err()).toBe('parley: 10, 20 or 40, not "30"\n');
  const unknown = run(['config', 'set', 'colour', 'blue'], { env });
  expect(await unknown.exited).toBe(EXIT.usage);
  expect(unknown.err()).toContain('no setting "colour"');
});

test('a broken config file or environment value is a usage error naming where it is', async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, '{"name": "alice",');
  const broken = run(['users'], { env: { PARLEY_CONFIG: file } });
  expect(await broken.exited).toBe(EXIT.usage);
  expect(broken.err()).toBe(`parley: the config file ${file} is not valid JSON: ${jsonError('{"name": "alice",')}\n`);
  writeFileSync(file, JSON.stringify({ frame: 30 }));
  const badValue = run(['users'], { env: { PARLEY_CONFIG: file } });
  expect(await badValue.exited).toBe(EXIT.usage);
  expect(badValue.err()).toBe(`parley: the config file ${file}: frame: 10, 20 or 40, not "30"\n`);
  const badEnv = run(['call', 'bob'], { env: { PARLEY_FRAME: '7' } });
  expect(await badEnv.exited).toBe(EXIT.usage);
  expect(badEnv.err()).toContain("from env 'PARLEY_FRAME' is invalid");
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}
