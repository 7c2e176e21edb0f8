/**
 * SRTP with AEAD_AES_128_GCM (RFC 7714): the RTP header is sent in the clear and authenticated
 * as associated data; the payload is encrypted; a 16-byte tag follows. The 12-byte IV is the
 * direction's salt XOR (0x0000 ‖ SSRC ‖ ROC ‖ SEQ), so no IV repeats while the 48-bit packet
 * index does not, and the index needs no bytes on the wire. RTCP is not used by parley, so
 * SRTCP is not implemented.
 *
 * AES-GCM rather than ChaCha20-Poly1305: it is SRTP's standard AEAD framing (RFC 7714 defines
 * the IV and the associated data exactly, so standard tools can read a stream given its keys),
 * and with AES-NI, on every machine parley targets, it is the faster of the two in node:crypto.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { RTP_HEADER_BYTES, RTP_VERSION } from '../../protocol/rtp';
import { ReplayWindow } from './replay-window';

export const SRTP_KEY_BYTES = 16;
export const SRTP_SALT_BYTES = 12;
export const SRTP_TAG_BYTES = 16;
const CIPHER = 'aes-128-gcm';

/** One direction's keying material. */
export interface DirectionKey {
  key: Buffer;
  salt: Buffer;
}

function checkKey(k: DirectionKey): void {
  if (k.key.length !== SRTP_KEY_BYTES || k.salt.length !== SRTP_SALT_BYTES) throw new RangeError('SRTP key is 16 bytes and salt 12');
}

/** RFC 7714 §8.1: the IV for one packet. */
export function srtpIv(salt: Buffer, ssrc: number, roc: number, seq: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc >>> 0, 2);
  iv.writeUInt32BE(roc >>> 0, 6);
  iv.writeUInt16BE(seq & 0xffff, 10);
  for (let i = 0; i < 12; i++) iv[i] ^= salt[i];
  return iv;
}

/** The length of an RTP header (fixed part, CSRCs, extension), or -1 when `buf` has none. */
export function rtpHeaderLength(buf: Buffer): number {
  if (buf.length < RTP_HEADER_BYTES || buf[0] >> 6 !== RTP_VERSION) return -1;
  let n = RTP_HEADER_BYTES + 4 * (buf[0] & 0x0f);
  if (buf[0] & 0x10) {
    if (buf.length < n + 4) return -1;
    n += 4 + 4 * buf.readUInt16BE(n + 2);
  }
  return n <= buf.length ? n : -1;
}

/** Seals this side's outgoing RTP packets (one SSRC, sequence numbers counting up by one). */
export class SrtpSealer {
  private roc = 0;
  private lastSeq = -1;

  constructor(private readonly k: DirectionKey) {
    checkKey(k);
  }

  /** `packet` is a plain RTP packet as RtpSender makes it; returns header ‖ ciphertext ‖ tag. */
  seal(packet: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength < 0) throw new RangeError('not an RTP packet');
    const seq = packet.readUInt16BE(2);
    // The sequence wrapped: the rollover counter counts the wraps (RFC 3711 §3.3.1).
    if (this.lastSeq >= 0 && seq < this.lastSeq && this.lastSeq - seq > 0x8000) this.roc = (this.roc + 1) >>> 0;
    this.lastSeq = seq;
    const iv = srtpIv(this.k.salt, packet.readUInt32BE(8), this.roc, seq);
    const cipher = createCipheriv(CIPHER, this.k.key, iv, { authTagLength: SRTP_TAG_BYTES });
    const header = packet.subarray(0, headerLength);
    cipher.setAAD(header);
    const body = cipher.update(packet.subarray(headerLength));
    cipher.final();
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }
}

export type OpenResult = { ok: true; packet: Buffer } | { ok: false; why: 'malformed' | 'replayed' | 'decrypt_failed' };

/**
 * Opens the peer's packets: estimates each one's rollover counter from the highest index
 * accepted (RFC 3711 Appendix A), refuses replays and packets older than the window before
 * spending a decryption on them, authenticates, and only then moves the window.
 */
export class SrtpOpener {
  private readonly window: ReplayWindow;
  decryptFailed = 0;
  replayed = 0;

  constructor(
    private readonly k: DirectionKey,
    windowSize?: number,
  ) {
    checkKey(k);
    this.window = new ReplayWindow(windowSize);
  }

  /** The packet index `seq` most likely stands for, given the highest accepted so far. */
  indexOf(seq: number): number {
    const top = this.window.top;
    if (top < 0) return seq;
    const roc = Math.floor(top / 0x10000);
    const sl = top % 0x10000;
    let v = roc;
    if (sl < 0x8000) {
      if (seq - sl > 0x8000) v = roc - 1;
    } else if (sl - 0x8000 > seq) v = roc + 1;
    return v * 0x10000 + seq;
  }

  /** Returns the plain RTP packet (header ‖ payload), or why it was dropped (counted here). */
  open(buf: Buffer): OpenResult {
    const headerLength = rtpHeaderLength(buf);
    if (headerLength < 0 || buf.length < headerLength + SRTP_TAG_BYTES) {
      this.decryptFailed++;
      return { ok: false, why: 'malformed' };
    }
    const seq = buf.readUInt16BE(2);
    const index = this.indexOf(seq);
    if (index > 0xffffffffffff || this.window.check(index) !== 'fresh') {
      this.replayed++;
      return { ok: false, why: 'replayed' };
    }
    const roc = Math.floor(index / 0x10000);
    const iv = srtpIv(this.k.salt, buf.readUInt32BE(8), roc, seq);
    const header = buf.subarray(0, headerLength);
    const tagAt = buf.length - SRTP_TAG_BYTES;
    let body: Buffer;
    try {
      const decipher = createDecipheriv(CIPHER, this.k.key, iv, { authTagLength: SRTP_TAG_BYTES });
      decipher.setAAD(header);
      decipher.setAuthTag(buf.subarray(tagAt));
      body = Buffer.concat([decipher.update(buf.subarray(headerLength, tagAt)), decipher.final()]);
    } catch {
      this.decryptFailed++;
      return { ok: false, why: 'decrypt_failed' };
    }
    this.window.accept(index);
    return { ok: true, packet: Buffer.concat([header, body]) };
  }
}
