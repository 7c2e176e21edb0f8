/** Throwaway self-signed certificates for TLS tests, made with the openssl command (null when there is none). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { spkiPin } from '../../src/client/server-socket';

export interface TestCert {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** sha256/BASE64 of its public key. */
  pin: string;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A P-256 self-signed certificate for `names` (DNS names and IP addresses), valid a day. */
export function makeCert(names: string[] = ['localhost', '127.0.0.1']): TestCert {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-cert-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile);
  return { dir, certFile, keyFile, cert, key: readFileSync(keyFile), pin: spkiPin(new X509Certificate(cert)) };
}
