import { randomBytes } from 'node:crypto';

/** 128-bit random ids, drawn from a pooled buffer so minting one costs no syscall. */
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let offset = 0;

export function mintId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(16 * POOL_IDS);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 16);
  offset += 16;
  return id;
}
