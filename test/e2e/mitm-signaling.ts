/**
 * A man in the middle on one client's signaling connection: a TCP relay that swaps the
 * encryption keys in that client's offers and in the answers it gets for keys of its own,
 * re-signed with its own identity (the signatures are over the real SSRCs and ufrags, so
 * they verify). ICE credentials and candidates pass untouched, so the call connects; only
 * the SAS can tell, and the media does not decrypt.
 */
import net from 'node:net';
import { CallSecurity } from '../../src/media/crypto/call-security';
import { Identity } from '../../src/media/crypto/identity';

export class MitmSignaling {
  readonly identity = Identity.generate();
  swapped = 0;
  /** false: swap only the ephemeral key and keep the victim's identity and signature (which then fails). */
  resign = true;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly upstream: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.relay(client));
  }

  static async start(upstream: { host: string; port: number }): Promise<MitmSignaling> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new MitmSignaling(server, upstream);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private relay(client: net.Socket): void {
    const up = net.connect(this.upstream.port, this.upstream.host);
    this.sockets.add(client).add(up);
    const pipeLines = (from: net.Socket, to: net.Socket, rewrite: (m: Record<string, unknown>) => void) => {
      let buffered = '';
      from.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let out = line;
          try {
            const m = JSON.parse(line) as Record<string, unknown>;
            rewrite(m);
            out = JSON.stringify(m);
          } catch {
            // Not JSON: passed on as it came.
          }
          to.write(out + '\n');
        }
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    };
    pipeLines(client, up, (m) => {
      if (m.type === 'call') this.swap(m.offer as Body, 'caller');
    });
    pipeLines(up, client, (m) => {
      if (m.type === 'accepted') this.swap(m.answer as Body, 'callee');
    });
  }

  private swap(body: Body, role: 'caller' | 'callee'): void {
    if (!body?.crypto || !body.ice) return;
    const mine = new CallSecurity(this.identity).describe({ role, ssrc: body.ssrc, ufrag: body.ice.ufrag });
    body.crypto = this.resign ? mine : { ...(body.crypto as object), key: mine.key };
    this.swapped++;
  }
}

interface Body {
  ssrc: number;
  ice?: { ufrag: string };
  crypto?: unknown;
}
