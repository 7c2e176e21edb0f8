import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';

import net from 'node:net';
import path from 'node:path';
import { encodeBindingRequest, STUN_MAGIC_COOKIE } from '../../src/protocol';
import { SignalingClient } from '../../src/client/signaling-client';
import { hasOpenssl, makeCert } from '../helpers/certs';
import { RawClient } from '../helpers/signaling';
import { waitFor, waitUntil } from '../helpers/wait';

const serverLauncherEnv = require('../../bin/launcher-env') as (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;

jest.setTimeout(60_000);

const BIN = path.join(__dirname, '../../bin/parley-server');

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  port: Promise<number>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  // Run as a command, the way users run it: through the launcher's shell line.
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on TCP port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, out: () => out, err: () => err, port };
}

const running: Running[] = [];
function startLocal(args: string[] = [], env: NodeJS.ProcessEnv = {}): Running {
  const s = start(['--host', '127.0.0.1', '--port', '0', ...args], env);
  running.push(s);
  return s;
}
afterEach(() => {
  for (const s of running.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await waitFor<[number | null]>(child, 'exit');
  return code;
}

function connect6(port: number): Promise<RawClient> {
  return RawClient.connect(port, { host: '::1' });
}

describe('running', () => {
  test('the launcher starts the server with the allocator bin/server-env.sh sets up', async () => {
    const s = startLocal();
    await s.port;
    const pid = s.child.pid!;
    const environ = new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const wanted = serverLauncherEnv(process.env);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('node');
    if (wanted.LD_PRELOAD?.includes('jemalloc')) {
      expect(environ.get('LD_PRELOAD')).toBe(wanted.LD_PRELOAD);
      expect(environ.get('MALLOC_CONF')).toBe(wanted.MALLOC_CONF);
      // Loaded, not just named.
      expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toContain('libjemalloc.so.2');
    } else {
      // glibc cuts the copy /proc shows at the first separator once it has read it: compare that much.
      const tunables = environ.get('GLIBC_TUNABLES')!;
      expect(tunables).toMatch(/^glibc\.malloc\.trim_threshold=131072/);
      expect(wanted.GLIBC_TUNABLES!.startsWith(tunables)).toBe(true);
    }
  });

  test('prints where to connect, logs readable lines with fields, and SIGTERM tells clients before exiting 0', async () => {
    const s = startLocal();
    const port = await s.port;
    expect(s.out()).toContain(`clients connect with: parley --server 127.0.0.1:${port}`);
    const alice = await RawClient.register(port, 'alice');
    const bob = await RawClient.register(port, 'bob');
    alice.send({ type: 'call', to: 'bob', offer: {} });
    const { call } = (await alice.next()) as unknown as { call: string };
    await bob.next();
    await waitUntil(() => /call ringing/.test(s.err()), 'the call was logged');
    expect(s.err()).toMatch(/info {2}registered name=alice id=[0-9a-f]{32} remote=127\.0\.0\.1:\d+\n/);
    expect(s.err()).toContain(`info  call ringing call=${call.slice(0, 8)} from=alice to=bob\n`);
    s.child.kill('SIGTERM');
    await alice.waitClosed();
    expect(alice.received.at(-1)).toEqual({ type: 'error', code: 'server_shutdown', message: 'the server is shutting down' });
    expect(await exited(s.child)).toBe(0);
  });

  test('SIGHUP is handled like SIGTERM', async () => {
    const s = startLocal();
    const c = await RawClient.register(await s.port, 'alice');
    s.child.kill('SIGHUP');
    await c.waitClosed();
    expect(c.received.at(-1)).toEqual({ type: 'error', code: 'server_shutdown', message: 'the server is shutting down' });
    expect(await exited(s.child)).toBe(0);
  });

  test('--log-json logs JSON lines with the same fields', async () => {
    const s = startLocal(['--log-json']);
    const port = await s.port;
    const c = await RawClient.register(port, 'bob');
    await c.close();
    // A connection that closes without bye is away (its name held for the resume grace), not gone.
    await waitUntil(() => /"msg":"away"/.test(s.err()), 'the drop was logged');
    s.child.kill('SIGINT');
    expect(await exited(s.child)).toBe(0);
    const lines = s.err().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'info', msg: 'registered', name: 'bob', id: expect.any(String), remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }),
        expect.objectContaining({ level: 'info', msg: 'away', name: 'bob', reason: 'disconnected', grace_ms: 30000 }),
        expect.objectContaining({ level: 'info', msg: 'closing', signal: 'SIGINT' }),
      ]),
    );
  });

  test('options come from the environment too: PARLEY_SERVER_HOST, PARLEY_SERVER_PORT, PARLEY_SERVER_LOG_JSON', async () => {
    const s = start([], { PARLEY_SERVER_HOST: '127.0.0.1', PARLEY_SERVER_PORT: '0', PARLEY_SERVER_LOG_JSON: '1' });
    running.push(s);
    const port = await s.port;
    await RawClient.register(port, 'env').then((c) => c.close());
    await waitUntil(() => /"msg":"registered"/.test(s.err()), 'the registration was logged as JSON');
    expect(s.out()).toContain(`parley --server 127.0.0.1:${port}`);
  });

  test('connection caps from the command line: the one over the per-address cap is told why and closed; the refusal is logged', async () => {
    const s = startLocal(['--max-connections-per-address', '2']);
    const port = await s.port;
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    const c = await RawClient.connect(port);
    await c.waitClosed();
    expect(c.received).toEqual([{ type: 'error', code: 'too_many_connections', message: 'too many connections from your address' }]);
    await waitUntil(() => /refused a connection reason=address remote=127\.0\.0\.1:\d+ open=2/.test(s.err()), 'the refusal was logged');
    await a.close();
    // Once one closes, another is let in.
    await waitUntil(async () => {
      const d = await RawClient.connect(port);
      d.send({ type: 'ping', req: 1 });
      const m = await d.next().catch(() => null);
      d.socket.destroy();
      return m?.type === 'pong';
    }, 'a new connection was accepted');
    b.socket.destroy();
  });
});

describe('IPv6', () => {
  test('--host ::1 listens on TCP and UDP, and the hint brackets the address', async () => {
    const s = start(['--host', '::1', '--port', '0']);
    running.push(s);
    const port = await s.port;
    expect(s.out()).toContain(`clients connect with: parley --server [::1]:${port}\n`);
    const c = await connect6(port);
    c.send({ type: 'hello', version: 1, name: 'six', req: 1 });
    expect(await c.next()).toMatchObject({ type: 'welcome', req: 1, name: 'six', udpPort: port });
    c.socket.destroy();
  });

  test('--host :: takes IPv4 and IPv6 clients, and answers STUN from an IPv4 client', async () => {
    const s = start(['--host', '::', '--port', '0']);
    running.push(s);
    const port = await s.port;
    const four = await RawClient.register(port, 'four');
    const six = await connect6(port);
    six.send({ type: 'hello', version: 1, name: 'six' });
    expect(await six.next()).toMatchObject({ type: 'welcome' });
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const txid = Buffer.alloc(12, 7);
    const reply = waitFor<[Buffer]>(udp, 'message');
    udp.send(encodeBindingRequest(txid), port, '127.0.0.1');
    const [packet] = await reply;
    expect(packet.readUInt16BE(0)).toBe(0x0101);
    expect(packet.readUInt32BE(4)).toBe(STUN_MAGIC_COOKIE);
    expect(packet.subarray(8, 20)).toEqual(txid);
    udp.close();
    four.socket.destroy();
    six.socket.destroy();
  });
});

describe('usage', () => {
  function run(args: string[]) {
    return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  }

  test.each([
    [['--prot', '7100'], "parley-server: unknown option '--prot' (did you mean --port?)"],
    [['--port', 'abc'], 'parley-server: --port abc: not a port number (0 to 65535)'],
    [['--port', '70000'], 'parley-server: --port 70000: not a port number (0 to 65535)'],
    [['--ring-timeout', '0'], 'parley-server: --ring-timeout 0: not a number of seconds above 0'],
    [['--log-level', 'loud'], 'parley-server: --log-level loud: allowed choices are silent, error, warn, info, debug.'],
    [['--max-connections', '-3'], 'parley-server: --max-connections -3: not a whole number above 0'],
    [['stray'], 'parley-server: too many arguments. Expected 0 arguments but got 1.'],
    [['--turn-url', 'http://x'], 'parley-server: --turn-url http://x: not a TURN URL (turn:host:port)'],
    [['--turn-url', 'turn:relay.example:3478'], "parley-server: --turn-url needs --turn-secret (the relay's shared secret)"],
  ])('%j → one line and a hint, exit 2', (args, line) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\nsee parley-server --help\n`);
  });

  test('--help lists every option with its default', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    // Each option's entry runs from its flag to the next flag.
    const entries = r.stdout.split(/\n(?=\s+-)/).filter((e) => /^\s+-/.test(e));
    const flags = entries.map((e) => /--[\w-]+/.exec(e)![0]);
    expect(flags).toEqual([
      '--version',
      '--host',
      '--port',
      '--ring-timeout',
      '--heartbeat-timeout',
      '--registration-timeout',
      '--max-connections',
      '--max-connections-per-address',
      '--turn-url',
      '--turn-secret',
      '--turn-ttl',
      '--max-allocations',
      '--no-relay',
      '--max-room-members',
      '--max-rooms',
      '--no-forward',
      '--names',
      '--resume-grace-ms',
      '--tls-cert',
      '--tls-key',
      '--tls-port',
      '--log-level',
      '--log-json',
      '--help',
    ]);
    // An external relay and its secret have no default, and --no-relay and --no-forward are switches.
    for (const e of entries.filter((x) => !/--(version|help|turn-url|turn-secret|no-relay|no-forward|tls-cert|tls-key|tls-port)/.test(x))) expect(e.replace(/\s+/g, ' ')).toMatch(/default: /);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('default: "0.0.0.0", env: PARLEY_SERVER_HOST');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('default: 7100, env: PARLEY_SERVER_PORT');
  });

  test('a port in use → one clear message, exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = run(['--host', '127.0.0.1', '--port', String(port)]);
    blocker.close();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`parley-server: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
  });
});

describe('TLS and the resume grace on the command line', () => {
  const openssl = hasOpenssl();
  (openssl ? test : test.skip)('--tls-cert/--tls-key/--tls-port: TLS on its port, plaintext on --port; half of it is a usage error', async () => {
    const cert = makeCert();
    try {
      const half = startLocal(['--tls-cert', cert.certFile]);
      half.port.catch(() => undefined);
      expect(await exited(half.child)).toBe(2);
      expect(half.err()).toContain('TLS needs both --tls-cert and --tls-key');
      const s = startLocal(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--tls-port', '0']);
      const port = await s.port;
      const tlsPort = Number(/TLS port (\d+)/.exec(s.out())![1]);
      expect(s.out()).toContain(`clients connect with: parley --server 127.0.0.1:${tlsPort} --tls`);
      const secure = await SignalingClient.connect({ host: '127.0.0.1', port: tlsPort, tls: { pin: cert.pin } });
      expect((await secure.hello('secure')).name).toBe('secure');
      await secure.close();
      const plain = await RawClient.register(port, 'plain');
      plain.socket.destroy();
    } finally {
      rmSync(cert.dir, { recursive: true, force: true });
    }
  });

  test('--resume-grace-ms 0: a dropped connection frees its name at once', async () => {
    const s = startLocal(['--resume-grace-ms', '0']);
    const port = await s.port;
    const a = await RawClient.register(port, 'alice');
    a.socket.destroy();
    await waitUntil(async () => {
      const c = await RawClient.connect(port);
      c.send({ type: 'hello', version: 1, name: 'alice' });
      const reply = await c.next();
      c.socket.destroy();
      return reply.type === 'welcome';
    }, 'alice is free again');
  });
});
