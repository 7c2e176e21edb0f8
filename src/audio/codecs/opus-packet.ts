/**
 * How much audio an Opus packet holds, read from its TOC byte and frame count (RFC 6716 §3.1)
 * without decoding it: a packet of another duration than agreed is refused before libopus sees
 * it, so a peer cannot make one tick play 120 ms.
 */

/** The longest a frame can be coded in (RFC 6716 §3.2.1), and so the most bytes a frame takes. */
const MAX_FRAME_BYTES = 1275;
/** A packet holds at most 120 ms (RFC 6716 §3.2.5). */
const MAX_PACKET_SAMPLES = 5760;

/** Samples at 48 kHz in one frame, by TOC configuration 0–31. */
const FRAME_SAMPLES = [
  // SILK-only: 10, 20, 40, 60 ms for each of NB, MB, WB.
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  // Hybrid: 10, 20 ms for SWB and FB.
  480, 960, 480, 960,
  // CELT-only: 2.5, 5, 10, 20 ms for NB, WB, SWB, FB.
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/** Samples at 48 kHz the packet decodes to, or null when its framing is malformed or too large. */
export function opusPacketSamples(packet: Buffer): number | null {
  if (packet.length === 0) return null;
  const toc = packet[0];
  const perFrame = FRAME_SAMPLES[toc >> 3];
  let frames: number;
  switch (toc & 0x03) {
    case 0:
      frames = 1;
      break;
    case 1:
      // Two frames of equal size.
      if ((packet.length - 1) % 2 !== 0) return null;
      frames = 2;
      break;
    case 2:
      if (packet.length < 2) return null;
      frames = 2;
      break;
    default:
      if (packet.length < 2) return null;
      frames = packet[1] & 0x3f;
      if (frames === 0) return null;
  }
  const samples = frames * perFrame;
  if (samples > MAX_PACKET_SAMPLES) return null;
  // TOC, frame count, padding and frame-length bytes aside, no frame exceeds its maximum size.
  if (packet.length > 2 + frames * (MAX_FRAME_BYTES + 2)) return null;
  return samples;
}
