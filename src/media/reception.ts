import { seqDistance } from '../protocol/rtp';

const SEEN_WINDOW = 1024;

/**
 * Per-stream reception accounting of RFC 3550 (§6.4.1, appendix A.1/A.8): extended highest
 * sequence number, cumulative loss (expected − received, duplicates not counted as received)
 * and the interarrival jitter estimate J += (|D| − J)/16 in timestamp units.
 */
export class ReceptionStats {
  private baseSeq = -1;
  private maxExtended = -1;
  private received = 0;
  duplicates = 0;
  private readonly seen = new Int32Array(SEEN_WINDOW).fill(-1);
  private lastTransit: number | null = null;
  private jitter = 0;

  constructor(private readonly clockRate: number) {}

  /** Records one packet; false when its sequence number was already received. */
  record(sequence: number, timestamp: number, arrivalMs: number): boolean {
    let ext: number;
    if (this.maxExtended < 0) {
      ext = sequence;
      this.baseSeq = sequence;
      this.maxExtended = sequence;
    } else {
      ext = this.maxExtended + seqDistance(this.maxExtended & 0xffff, sequence, 16);
      if (ext < this.baseSeq - SEEN_WINDOW) return false;
      if (ext > this.maxExtended) this.maxExtended = ext;
    }
    const slot = ((ext % SEEN_WINDOW) + SEEN_WINDOW) % SEEN_WINDOW;
    if (this.seen[slot] === ext) {
      this.duplicates++;
      return false;
    }
    this.seen[slot] = ext;
    this.received++;
    // Transit in timestamp units; only differences matter, so the clocks' offset cancels.
    const transit = (arrivalMs * this.clockRate) / 1000 - timestamp;
    if (this.lastTransit !== null) {
      let d = transit - this.lastTransit;
      // A timestamp wrap between the two packets.
      if (Math.abs(d) > 2 ** 31) d -= Math.sign(d) * 2 ** 32;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTransit = transit;
    return true;
  }

  get packetsReceived(): number {
    return this.received;
  }

  get expected(): number {
    return this.maxExtended < 0 ? 0 : this.maxExtended - this.baseSeq + 1;
  }

  get lost(): number {
    return Math.max(0, this.expected - this.received);
  }

  get jitterMs(): number {
    return (this.jitter * 1000) / this.clockRate;
  }
}
