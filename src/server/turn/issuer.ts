import type { TurnOffer } from '../../protocol';
import type { Session } from '../registry';
import { mint } from './credentials';
import { ipv4Of } from './ip';

/** Gives each party of a call the relay it may use for that call, with its own credentials. */
export interface TurnIssuer {
  /** The `turn` field for `session` in call `callId`, or undefined when no relay is offered. */
  offer(callId: string, session: Session): TurnOffer | undefined;
}

export interface IssuerOptions {
  secret: string;
  ttlS: number;
  /** Unix seconds now. */
  nowS: () => number;
  /** An external relay (`turn:host:port`); without it, the embedded relay on `udpPort`. */
  url?: string;
  udpPort: () => number;
}

/**
 * TURN REST credentials (`expiry:call:name`) under one shared secret. The embedded relay's URL
 * is the address the party's own TCP connection reached, so it is right from where the client
 * stands even when the server listens on a wildcard address.
 */
export class SecretIssuer implements TurnIssuer {
  constructor(private readonly opts: IssuerOptions) {}

  offer(callId: string, session: Session): TurnOffer | undefined {
    let url = this.opts.url;
    if (!url) {
      // The embedded relay speaks IPv4 only (XOR addresses are encoded for IPv4).
      const ip = session.localAddress ? ipv4Of(session.localAddress) : null;
      if (!ip) return undefined;
      url = `turn:${ip}:${this.opts.udpPort()}`;
    }
    const { username, password } = mint(this.opts.secret, { callId, name: session.name }, this.opts.ttlS, this.opts.nowS());
    return { url, username, password, ttl: this.opts.ttlS };
  }
}
