/**
 * The package as a user gets it: `npm pack` (its own prepack/prepare build, in a copy of the
 * project so this tree's dist/ is left alone), the tarball installed globally into a private
 * prefix, then `parley-server` and `parley` started by name from an unrelated directory.
 *
 * The install uses npm's cache (`npm ci` filled it) and --ignore-scripts: compiling the optional
 * native addons (@discordjs/opus, speaker) takes a minute or more, and neither `--version` nor
 * `users` touches audio.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RawClient } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';

const ROOT = path.join(__dirname, '../..');
const { name: PACKAGE, version: VERSION } = require('../../package.json') as { name: string; version: string };
const STEP_MS = 240_000;
/** Generated or installed, never part of what is packed. */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'dist-bench', 'out', 'bench/node_modules', 'bench/results']);

jest.setTimeout(STEP_MS);

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'parley-package-'));
const prefix = path.join(work, 'global');
const elsewhere = path.join(work, 'elsewhere');

/** npm sets these for the scripts it runs; a nested npm must find its own project and prefix. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(npm_(package|lifecycle)_|npm_config_(local_prefix|global_prefix|prefix)$|npm_command$|INIT_CWD$)/.test(key)) delete env[key];
  }
  return env;
}

/** What the installed commands see: only the prefix's bin on top of PATH, no user config or PARLEY_*. */
function userEnv(): NodeJS.ProcessEnv {
  const env = npmEnv();
  for (const key of Object.keys(env)) if (key.startsWith('PARLEY_')) delete env[key];
  const home = path.join(work, 'home');
  mkdirSync(home, { recursive: true });
  return { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PATH: `${path.join(prefix, 'bin')}${path.delimiter}${env.PATH}` };
}

async function packCopy(): Promise<{ tarball: string; files: string[] }> {
  const copy = path.join(work, 'project');
  cpSync(ROOT, copy, { recursive: true, filter: (src) => !NOT_COPIED.has(path.relative(ROOT, src)) });
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: copy, env: npmEnv(), timeout: STEP_MS, maxBuffer: 16 << 20 });
  // The build's own output comes first; the JSON report is the last thing printed.
  const [report] = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(work, report.filename), files: report.files.map((f) => f.path) };
}

/** A port free for TCP and UDP a moment ago (parley-server binds the same number for both). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** `parley-server` by name from PATH, on a free port; another try if the port was taken meanwhile. */
async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  let stderr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('parley-server', ['--host', '127.0.0.1', '--port', String(port)], { cwd: elsewhere, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    await waitUntil(async () => gone || (await connects(port)), 'parley-server accepts connections', 60_000);
    if (!gone) return { child, port };
  }
  throw new Error(`parley-server did not start: ${stderr}`);
}

let tarball: string;
let files: string[];

beforeAll(async () => {
  mkdirSync(elsewhere);
  ({ tarball, files } = await packCopy());
  await run(
    'npm',
    ['install', '--global', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball],
    { cwd: work, env: npmEnv(), timeout: STEP_MS },
  );
}, 2 * STEP_MS);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test(`the tarball is ${PACKAGE} and holds only what runs: dist (no source maps), bin, docs, README, LICENSE`, () => {
  expect(PACKAGE).toBe('parley-voice');
  expect(path.basename(tarball)).toBe(`${PACKAGE}-${VERSION}.tgz`);
  const outside = files.filter((f) => !/^(dist\/.*\.js|dist\/.*\.d\.ts|bin\/[^/]+|docs\/[^/]+\.md|README\.md|LICENSE|package\.json|binding\.gyp|native\/[^/]+\.(c|cc)|scripts\/build-native\.js)$/.test(f));
  expect(outside).toEqual([]);
  for (const f of ['bin/parley', 'bin/parley-server', 'dist/index.js', 'dist/index.d.ts', 'dist/client/cli.js', 'dist/server/cli.js', 'LICENSE', 'README.md']) {
    expect(files).toContain(f);
  }
});

test('the global install puts parley and parley-server on PATH, working from any directory', async () => {
  expect(existsSync(path.join(prefix, 'bin', 'parley'))).toBe(true);
  const version = await run('parley', ['--version'], { cwd: elsewhere, env: userEnv(), timeout: STEP_MS });
  expect(version.stdout).toMatch(new RegExp(`^parley ${VERSION.replace(/\./g, '\\.')}\\b`));

  const server = await startServer();
  const people: RawClient[] = [];
  try {
    for (const name of ['alice', 'bob']) people.push(await RawClient.register(server.port, name));
    const users = await run('parley', ['users', '--server', `127.0.0.1:${server.port}`], { cwd: elsewhere, env: userEnv(), timeout: STEP_MS });
    const names = users.stdout.split('\n').map((line) => line.split(/\s/)[0]);
    expect(names).toEqual(expect.arrayContaining(['alice', 'bob']));
  } finally {
    for (const p of people) p.socket.destroy();
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
});
