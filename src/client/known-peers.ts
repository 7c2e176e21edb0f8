/**
 * Peers' identity keys as first seen, by name (case-insensitive), like SSH's known_hosts:
 * `known_peers.json` beside the config file. A name whose key differs from the one remembered
 * is someone else, or the same person with a new key: the user has to say which
 * (--accept-new-key). Trust on first use: the first key seen for a name is remembered.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprintOf, publicKeyOf } from '../media/crypto/identity';

export const KNOWN_PEERS_FILE = 'known_peers.json';
const MAX_FILE_BYTES = 1024 * 1024;

export type PeerCheck = { status: 'new' } | { status: 'same' } | { status: 'changed'; known: string; knownFingerprint: string };

/** Where keys are remembered; a file (KnownPeersFile) or, in tests and libraries, memory. */
export interface KnownPeers {
  check(name: string, key: string): PeerCheck;
  remember(name: string, key: string): void;
}

interface Entry {
  key: string;
  added: string;
}

export class MemoryKnownPeers implements KnownPeers {
  protected entries = new Map<string, Entry>();

  check(name: string, key: string): PeerCheck {
    const e = this.entries.get(name.toLowerCase());
    if (!e) return { status: 'new' };
    if (e.key === key) return { status: 'same' };
    return { status: 'changed', known: e.key, knownFingerprint: fingerprintOf(e.key) };
  }

  remember(name: string, key: string): void {
    const k = name.toLowerCase();
    if (this.entries.get(k)?.key === key) return;
    this.entries.set(k, { key, added: new Date().toISOString() });
    this.saved();
  }

  protected saved(): void {}
}

/**
 * known_peers.json: read once when opened, rewritten atomically on each change. A file that
 * cannot be written does not fail the call: the key is kept for this run and `onError` is told.
 */
export class KnownPeersFile extends MemoryKnownPeers {
  constructor(
    readonly file: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    super();
    this.entries = load(file);
  }

  protected override saved(): void {
    try {
      this.write();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private write(): void {
    // Re-read first: another parley (an answering one, say) may have added peers meanwhile.
    const merged = load(this.file);
    for (const [k, v] of this.entries) merged.set(k, v);
    this.entries = merged;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(merged), null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

export function knownPeersIn(dir: string, onError?: (err: Error) => void): KnownPeersFile {
  return new KnownPeersFile(path.join(dir, KNOWN_PEERS_FILE), onError);
}

/** The file's entries; entries that are not a name and a key are skipped, not trusted. */
function load(file: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) throw new Error(`${file} is over ${MAX_FILE_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} must hold one JSON object`);
  for (const [name, v] of Object.entries(raw)) {
    const e = v as Partial<Entry> | null;
    if (typeof e?.key === 'string' && publicKeyOf(e.key)) out.set(name.toLowerCase(), { key: e.key, added: String(e.added ?? '') });
  }
  return out;
}
