/**
 * The long-term identity key on disk: `identity.key` (PKCS#8 PEM, mode 0600) beside the config
 * file, created on first use. Written whole to a temporary file, then linked into place (which
 * fails when the name exists), so two clients starting at once cannot each keep their own or
 * read a half-written key: the second reads the first's.
 */
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Identity } from '../media/crypto/identity';

export const IDENTITY_FILE = 'identity.key';
const MAX_KEY_FILE_BYTES = 16 * 1024;

export class IdentityFileError extends Error {
  readonly code = 'identity_file';
}

export function loadOrCreateIdentity(dir: string): { identity: Identity; created: boolean; file: string } {
  const file = path.join(dir, IDENTITY_FILE);
  try {
    return { identity: read(file), created: false, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const identity = Identity.generate();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, identity.toPem(), { mode: 0o600 });
    linkSync(tmp, file);
    return { identity, created: true, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { identity: read(file), created: false, file };
    throw new IdentityFileError(`cannot create the identity key ${file}: ${(err as Error).message}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Never written: nothing to remove.
    }
  }
}

function read(file: string): Identity {
  const st = statSync(file);
  if (st.size > MAX_KEY_FILE_BYTES) throw new IdentityFileError(`the identity key ${file} is over ${MAX_KEY_FILE_BYTES} bytes`);
  // A key others can read is no longer only ours: tighten it rather than refuse to run.
  if ((st.mode & 0o077) !== 0) chmodSync(file, 0o600);
  try {
    return Identity.fromPem(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IdentityFileError(`the identity key ${file} is not an Ed25519 private key: ${(err as Error).message}`);
  }
}
