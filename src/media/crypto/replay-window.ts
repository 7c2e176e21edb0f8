/**
 * The receiver's replay window (RFC 3711 §3.3.2) over 48-bit extended sequence numbers
 * (rollover counter × 65536 + sequence). The highest index accepted is the window's top; an
 * index up to `size - 1` below it is accepted once; anything older is refused, as it can no
 * longer be told apart from a replay. Update only after the packet authenticated: a forged
 * packet must not move the window.
 */
export const REPLAY_WINDOW = 128;

export type ReplayVerdict = 'fresh' | 'replayed' | 'too_old';

export class ReplayWindow {
  /** The highest index accepted so far; -1 before the first. */
  private topIndex = -1;
  /** One slot per index modulo the size: whether that index (within the window) was accepted. */
  private readonly seen: Uint8Array;

  constructor(readonly size = REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 64) throw new RangeError('a replay window holds at least 64 packets');
    this.seen = new Uint8Array(size);
  }

  get top(): number {
    return this.topIndex;
  }

  /** What accepting `index` would be, without accepting it. */
  check(index: number): ReplayVerdict {
    if (!Number.isSafeInteger(index) || index < 0) return 'too_old';
    if (index > this.topIndex) return 'fresh';
    if (this.topIndex - index >= this.size) return 'too_old';
    return this.seen[index % this.size] ? 'replayed' : 'fresh';
  }

  /** Records `index` as received (it passed `check` and authenticated). */
  accept(index: number): void {
    if (index > this.topIndex) {
      // Slots between the old top and the new one belong to indexes not received yet.
      const gap = this.topIndex < 0 ? this.size : Math.min(index - this.topIndex, this.size);
      for (let i = 1; i <= gap; i++) this.seen[(index - i + 1 + this.size * 2) % this.size] = 0;
      this.topIndex = index;
    }
    this.seen[index % this.size] = 1;
  }
}
