/**
 * The TCP (or TLS) socket to the parley server, and how it failed to open: unreachable
 * (ConnectError) or reached but not trusted (ServerTrustError), never a hang.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

/** How to trust the server: system CAs by default, or this CA (PEM), or this public key. */
export interface TlsOptions {
  /** CA or self-signed certificate (PEM) to trust instead of the system's. */
  ca?: string | Buffer;
  /**
   * The server's public key: `sha256/BASE64` of its SubjectPublicKeyInfo (DER), as HPKP and
   * curl's `--pinnedpubkey` write it. A pinned key is trusted whoever signed the certificate.
   */
  pin?: string;
  /** The name the certificate must carry; the host connected to by default. */
  servername?: string;
}

export const PIN_PATTERN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

/** The server could not be reached at all. */
export class ConnectError extends Error {
  constructor(
    readonly address: string,
    override readonly cause: Error,
  ) {
    super(`cannot reach the parley server at ${address}: ${describeNetError(cause)}`);
    this.name = 'ConnectError';
  }
}

export type TrustCode = 'tls_untrusted' | 'tls_name_mismatch' | 'tls_pin_mismatch' | 'tls_failed';

/** The server answered, but its certificate, name or key is not the one trusted. */
export class ServerTrustError extends Error {
  constructor(
    readonly code: TrustCode,
    readonly address: string,
    detail: string,
  ) {
    super(`will not talk to the parley server at ${address}: ${detail}`);
    this.name = 'ServerTrustError';
  }
}

/** `sha256/BASE64` of a certificate's SubjectPublicKeyInfo. */
export function spkiPin(cert: { publicKey: { export(o: { type: 'spki'; format: 'der' }): Buffer } }): string {
  return 'sha256/' + createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

export function openServerSocket(host: string, port: number, timeoutMs: number, trust?: TlsOptions): Promise<net.Socket> {
  const address = hostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = trust
      ? tls.connect({
          host,
          port,
          ca: trust.ca,
          // A pinned key is the trust: the chain need not lead to a CA (self-signed is fine).
          rejectUnauthorized: !trust.pin,
          servername: trust.servername ?? (net.isIP(host) ? undefined : host),
        })
      : net.connect({ host, port });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ConnectError(address, Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }))), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => fail(trust ? trustError(address, err) : new ConnectError(address, err)));
    socket.once(trust ? 'secureConnect' : 'connect', () => {
      if (trust?.pin) {
        const cert = (socket as tls.TLSSocket).getPeerX509Certificate();
        const got = cert ? spkiPin(cert) : '';
        if (!samePin(got, trust.pin)) return fail(new ServerTrustError('tls_pin_mismatch', address, `its public key (${got || 'none'}) is not the pinned ${trust.pin}`));
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function samePin(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** TLS verification codes (OpenSSL's) and Node's name check. */
function isTlsError(err: NodeJS.ErrnoException): boolean {
  return typeof err.code === 'string' && (/CERT|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME|^ERR_SSL|^ERR_TLS/.test(err.code) || err.code === 'EPROTO');
}

function trustError(address: string, err: NodeJS.ErrnoException): Error {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new ServerTrustError('tls_name_mismatch', address, `its certificate is for another name (${err.message})`);
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(code)) return new ServerTrustError('tls_untrusted', address, `its certificate is not trusted (${code}; give --ca FILE or --pin sha256/…)`);
  if (isTlsError(err)) return new ServerTrustError('tls_failed', address, `the TLS handshake failed (${err.message.split('\n')[0]}; does it speak TLS on this port?)`);
  return new ConnectError(address, err);
}

/** host:port, with an IPv6 address in brackets so the port can be told from it. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeNetError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is parley-server running there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return err.message;
  }
}
