/** Signaling over TLS: trusted by CA file or by pinned key, refused otherwise with a coded error and exit 3; plaintext beside it. */
import { rmSync } from 'node:fs';
import { startServer, type RunningServer } from '../../src';
import { EXIT } from '../../src/client/exit-codes';
import { Phone, ServerTrustError } from '../../src/client/phone';
import { hasOpenssl, makeCert, type TestCert } from '../helpers/certs';
import { RawClient } from '../helpers/signaling';
import { run } from './helpers/parley';

jest.setTimeout(45_000);

const openssl = hasOpenssl();
if (!openssl) console.warn('skipping the TLS tests: no openssl command to make a certificate with');
const maybe = openssl ? describe : describe.skip;

maybe('TLS signaling', () => {
  let cert: TestCert;
  let other: TestCert;
  let server: RunningServer;
  const phones: Phone[] = [];

  beforeAll(() => {
    cert = makeCert(['localhost', '127.0.0.1']);
    other = makeCert(['localhost', '127.0.0.1']);
  });
  afterAll(() => {
    for (const c of [cert, other]) rmSync(c.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, tls: { cert: cert.cert, key: cert.key, port: 0 } });
  });
  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close().catch(() => undefined)));
    await server.close();
  });

  async function phone(name: string, tls: { ca?: Buffer; pin?: string }, host = '127.0.0.1'): Promise<Phone> {
    const p = await Phone.connect({ server: { host, port: server.tlsPort! }, tls, udpHost: '127.0.0.1' });
    phones.push(p);
    await p.register(name);
    return p;
  }

  test('with the right CA (by IP and by name) or the right pin: register, call and hang up all work', async () => {
    const alice = await phone('alice', { ca: cert.cert });
    const bob = await phone('bob', { pin: cert.pin }, 'localhost');
    expect(alice.secure).toBe(true);
    bob.once('incoming', (c) => void c.accept());
    const call = await alice.call('bob').result;
    const ended = new Promise((r) => call.once('ended', r));
    await call.hangup();
    expect(await ended).toMatchObject({ reason: 'hangup', byMe: true });
    expect(await alice.lookup('bob')).toEqual({ name: 'bob', status: 'idle' });
  });

  test('a wrong certificate, name or pin is refused with a coded error, never a hang', async () => {
    const port = server.tlsPort!;
    const refused = (tls: { ca?: Buffer; pin?: string; servername?: string }) => Phone.connect({ server: { host: '127.0.0.1', port }, tls }).then(() => null, (e: Error) => e);
    const untrusted = await refused({ ca: other.cert });
    expect(untrusted).toBeInstanceOf(ServerTrustError);
    expect(untrusted).toMatchObject({ code: 'tls_untrusted' });
    expect(await refused({})).toMatchObject({ code: 'tls_untrusted' });
    expect(await refused({ ca: cert.cert, servername: 'parley.example' })).toMatchObject({ code: 'tls_name_mismatch' });
    expect(await refused({ pin: other.pin })).toMatchObject({ code: 'tls_pin_mismatch' });
    // TLS to the plaintext port: the handshake fails, it does not wait for ever.
    const plain = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, tls: { pin: cert.pin } }).then(() => null, (e: Error) => e);
    expect(plain).toBeInstanceOf(Error);
  });

  test('the plaintext port still works beside --tls-port', async () => {
    const c = await RawClient.register(server.port, 'plain');
    c.socket.destroy();
  });

  test('the command line: --ca and --pin get in (tls: true); a wrong pin exits 3 saying why; plaintext says it is', async () => {
    const tlsAt = ['--server', `127.0.0.1:${server.tlsPort}`];
    const ok = run(['users', '--json', '--ca', cert.certFile, ...tlsAt]);
    expect(await ok.exited).toBe(EXIT.ok);
    expect(ok.out()).toContain('"event":"registered"');
    expect(ok.out()).toContain('"tls":true');
    const pinned = run(['users', '--pin', cert.pin, ...tlsAt]);
    expect(await pinned.exited).toBe(EXIT.ok);
    expect(pinned.err()).not.toContain('not encrypted');
    const wrong = run(['users', '--json', '--pin', other.pin, ...tlsAt]);
    expect(await wrong.exited).toBe(EXIT.unreachable);
    expect(wrong.out()).toContain('"code":"tls_pin_mismatch"');
    const bad = run(['users', '--tls', ...tlsAt]);
    expect(await bad.exited).toBe(EXIT.unreachable);
    expect(bad.err()).toContain('not trusted');
    const plain = run(['users', '--json', '--server', `127.0.0.1:${server.port}`]);
    expect(await plain.exited).toBe(EXIT.ok);
    expect(plain.out()).toContain('"tls":false');
  });
});

maybe('parley-server --tls-cert/--tls-key without --tls-port', () => {
  test('the main port speaks TLS only', async () => {
    const cert = makeCert();
    const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, tls: { cert: cert.cert, key: cert.key } });
    try {
      expect(server.tlsPort).toBe(server.port);
      const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, tls: { ca: cert.cert } });
      await p.register('alice');
      await p.close();
    } finally {
      await server.close();
      rmSync(cert.dir, { recursive: true, force: true });
    }
  });
});
