/**
 * Name claims (`parley-server --names claim`): the first client to register a name with a
 * proven identity key binds the name to that key; from then on the name is only given to a
 * client that proves the same key (`hello.identity`, a signature over a nonce this connection
 * got from `challenge`). Names registered without a key stay unclaimed. Bindings are kept in
 * memory for the server's life (a restart frees every name), at most MAX_CLAIMS of them.
 * Without claims (`--names open`, the default) identities are ignored.
 */
import { randomBytes } from 'node:crypto';
import { verifySignature } from '../media/crypto/identity';
import { helloProof } from '../protocol/name-proof';

export const MAX_CLAIMS = 100_000;

export type ClaimCheck = { ok: true; key?: string } | { ok: false; code: 'name_claimed' | 'bad_request'; message: string };

export class NameClaims {
  private readonly nonces = new WeakMap<object, string>();
  private readonly keys = new Map<string, string>();

  constructor(readonly enabled: boolean) {}

  /** A fresh nonce for the connection's next hello (replacing any earlier one). */
  challenge(conn: object): string {
    const nonce = randomBytes(32).toString('base64url');
    this.nonces.set(conn, nonce);
    return nonce;
  }

  /** Whether `name` may be registered on `conn` with this proof; the key proven, if any. */
  check(conn: object, name: string, identity: { key: string; sig: string } | undefined): ClaimCheck {
    if (!this.enabled) return { ok: true };
    let proven: string | undefined;
    if (identity) {
      // One nonce, one hello: a refused hello asks for a new challenge.
      const nonce = this.nonces.get(conn);
      this.nonces.delete(conn);
      if (!nonce || !verifySignature(identity.key, helloProof(nonce, name), Buffer.from(identity.sig, 'base64url'))) {
        return { ok: false, code: 'bad_request', message: "hello: the identity's signature does not verify (sign the nonce of this connection's last challenge)" };
      }
      proven = identity.key;
    }
    const bound = this.keys.get(name.toLowerCase());
    if (bound !== undefined && bound !== proven) {
      return { ok: false, code: 'name_claimed', message: `the name "${name}" is claimed by another identity key on this server: choose another` };
    }
    return { ok: true, key: proven };
  }

  /** The name was registered with this proven key: the first such registration claims it. */
  bind(name: string, key: string | undefined): void {
    if (!this.enabled || key === undefined || this.keys.size >= MAX_CLAIMS) return;
    const k = name.toLowerCase();
    if (!this.keys.has(k)) this.keys.set(k, key);
  }

  get size(): number {
    return this.keys.size;
  }
}
