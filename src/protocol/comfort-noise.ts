/**
 * Comfort noise payload, RFC 3389: what a sender that stops sending in silence (DTX) says
 * about the background it is no longer sending, so the receiver can make up noise like it.
 *
 *   byte 0       noise level, −dBov (0..127; the top bit is reserved and must be 0);
 *                127 is the quietest the format says: silence
 *   bytes 1..N   up to CN_MAX_COEFFICIENTS reflection coefficients k1..kN of the noise's
 *                spectral shape (all-pole model), each quantized as round(k·127) + 127 (0..254)
 *
 * dBov here is dB relative to the RMS of a full-scale 16-bit signal (32767). The decoder is
 * strict: an empty payload, one longer than 1 + CN_MAX_COEFFICIENTS bytes, a reserved bit set
 * or a coefficient byte of 255 are refused (null).
 */

export const CN_MAX_COEFFICIENTS = 10;
export const CN_MAX_PAYLOAD_BYTES = 1 + CN_MAX_COEFFICIENTS;
/** The level byte that means silence. */
export const CN_SILENCE_LEVEL = 127;

export interface ComfortNoise {
  /** Noise level in −dBov, 0 (full scale) to 127 (silence). */
  level: number;
  /** Reflection coefficients, each in (−1, 1); empty for white noise. */
  reflection: number[];
}

/** A level in dBFS RMS (≤ 0) as the level byte: clamped to 0..127. */
export function levelByteOf(dbfs: number): number {
  if (!Number.isFinite(dbfs)) return CN_SILENCE_LEVEL;
  return Math.max(0, Math.min(CN_SILENCE_LEVEL, Math.round(-dbfs)));
}

export function quantizeReflection(k: number): number {
  const q = Math.round((Number.isFinite(k) ? Math.max(-1, Math.min(1, k)) : 0) * 127) + 127;
  return Math.max(0, Math.min(254, q));
}

export function encodeComfortNoise(cn: ComfortNoise): Buffer {
  const n = Math.min(CN_MAX_COEFFICIENTS, cn.reflection.length);
  const buf = Buffer.allocUnsafe(1 + n);
  buf[0] = Math.max(0, Math.min(CN_SILENCE_LEVEL, Math.round(cn.level))) & 0x7f;
  for (let i = 0; i < n; i++) buf[1 + i] = quantizeReflection(cn.reflection[i]);
  return buf;
}

export function decodeComfortNoise(buf: Buffer): ComfortNoise | null {
  if (buf.length < 1 || buf.length > CN_MAX_PAYLOAD_BYTES) return null;
  if (buf[0] & 0x80) return null;
  const reflection: number[] = [];
  for (let i = 1; i < buf.length; i++) {
    if (buf[i] > 254) return null;
    reflection.push((buf[i] - 127) / 127);
  }
  return { level: buf[0], reflection };
}
