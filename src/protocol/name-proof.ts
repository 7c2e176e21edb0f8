/**
 * What a client signs to prove, in `hello`, that it holds the identity key a claimed name is
 * bound to: a label, the server's nonce for this connection (fresh, one use) and the name. The
 * nonce keeps a proof seen on one connection from being replayed on another.
 */
export function helloProof(nonce: string, name: string): Buffer {
  return Buffer.from(`parley-hello v1\0${nonce}\0${name}`, 'utf8');
}
