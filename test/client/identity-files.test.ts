/** The identity key file and known_peers.json on disk. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadOrCreateIdentity, IdentityFileError } from '../../src/client/identity-file';
import { KnownPeersFile, knownPeersIn } from '../../src/client/known-peers';
import { configDir } from '../../src/client/commands/config-file';
import { Identity } from '../../src/media/crypto/identity';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the config folder follows PARLEY_CONFIG, else XDG_CONFIG_HOME', () => {
  expect(configDir({ PARLEY_CONFIG: '/x/y/config.json' })).toBe('/x/y');
  expect(configDir({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/parley');
});

test('created once, 0600, in a folder made for it; read back the same after', () => {
  const folder = path.join(dir, 'new', 'parley');
  const first = loadOrCreateIdentity(folder);
  expect(first.created).toBe(true);
  expect(statSync(first.file).mode & 0o777).toBe(0o600);
  const again = loadOrCreateIdentity(folder);
  expect(again.created).toBe(false);
  expect(again.identity.publicKey).toBe(first.identity.publicKey);
});

test('a key others could read is tightened; a file that is not an Ed25519 key is an error, not replaced', () => {
  const { file } = loadOrCreateIdentity(dir);
  chmodSync(file, 0o644);
  loadOrCreateIdentity(dir);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  writeFileSync(file, 'not a key');
  expect(() => loadOrCreateIdentity(dir)).toThrow(IdentityFileError);
  expect(readFileSync(file, 'utf8')).toBe('not a key');
});

test('known peers: new, same, changed by name in any case; written atomically and read back; junk entries skipped', () => {
  const bob = Identity.generate().publicKey;
  const other = Identity.generate().publicKey;
  const peers = knownPeersIn(dir);
  expect(peers.check('bob', bob)).toEqual({ status: 'new' });
  peers.remember('Bob', bob);
  expect(peers.check('BOB', bob)).toEqual({ status: 'same' });
  expect(peers.check('bob', other)).toMatchObject({ status: 'changed', known: bob });
  const file = path.join(dir, 'known_peers.json');
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  saved.mallory = { key: 'not a key' };
  saved.eve = 'x';
  writeFileSync(file, JSON.stringify(saved));
  const reread = new KnownPeersFile(file);
  expect(reread.check('bob', bob)).toEqual({ status: 'same' });
  expect(reread.check('mallory', other)).toEqual({ status: 'new' });
  writeFileSync(file, '{');
  expect(() => new KnownPeersFile(file)).toThrow(/not valid JSON/);
});

test('known peers that cannot be written: the call is not failed, the error is told', () => {
  const errors: Error[] = [];
  const peers = new KnownPeersFile(path.join(dir, 'missing', 'known_peers.json'), (e) => errors.push(e));
  writeFileSync(path.join(dir, 'missing'), 'a file where the folder should be');
  expect(() => peers.remember('bob', Identity.generate().publicKey)).not.toThrow();
  expect(errors).toHaveLength(1);
});
