/** Reads a room into the plain values the room screen shows, and says what happens in it in words. */
import type { RoomPhase } from '../../protocol';
import type { RoomSession } from '../room/room-session';
import type { RoomTerms } from '../room/room-terms';
import { describeVoice } from './call-view';

export interface MemberLine {
  name: string;
  /** What is played of the member, dBFS; -Infinity before its audio (and for oneself: see micDb). */
  level: number;
  talking: boolean;
  /** Whether the media mutes it here; null while it is not heard here (no media, or no key from it yet). */
  muted: boolean | null;
}

export interface RoomView {
  id: string;
  owner: string;
  /** Everyone in the room, oneself too, longest present first. */
  members: MemberLine[];
  phase: RoomPhase;
  /** The agreed terms once media flows with them. */
  terms: RoomTerms | null;
  micDb: number;
  speakerDb: number;
  /** Whether the media sends silence for the microphone; null while there is no media. */
  micMuted: boolean | null;
  /** The microphone processing in words while media runs (describeVoice), else null. */
  processing: string | null;
}

/** Something that happened in the room, worth a line on its screen. */
export type RoomHappening =
  | { what: 'joined'; name: string }
  | { what: 'left'; name: string; disconnected: boolean }
  | { what: 'owner'; name: string }
  | { what: 'offer'; by: string; terms: RoomTerms | null }
  | { what: 'nacked'; by: string }
  | { what: 'started'; terms: RoomTerms }
  | { what: 'incompatible'; members: string[] }
  | { what: 'untrusted'; name: string; why: string }
  | { what: 'start-failed'; message: string };

export function roomView(room: RoomSession): RoomView {
  const media = room.media;
  const heard = new Map((media?.members() ?? []).map((m) => [m.name, m]));
  const levels = media?.levels() ?? { input: -Infinity, output: -Infinity };
  // Oneself talks when the (processed) microphone holds voice; the others when their speech plays.
  const sending = media?.activity().sending ?? false;
  return {
    id: room.id,
    owner: room.owner,
    members: room.members.map((name) => {
      const m = heard.get(name);
      return { name, level: m?.level ?? -Infinity, talking: name === room.me ? sending : (m?.talking ?? false), muted: m?.muted ?? null };
    }),
    phase: room.phase,
    terms: room.terms,
    micDb: levels.input,
    speakerDb: levels.output,
    micMuted: media ? media.mutedMic : null,
    processing: media && room.voice ? describeVoice(room.voice) : null,
  };
}

/** "opus at 20 ms frames, with redundancy, direct to each member". */
export function describeTerms(terms: RoomTerms | null): string {
  if (!terms) return 'terms this client cannot read';
  const route = terms.topology === 'mesh' ? 'direct to each member' : "through the server's forwarder";
  return `${terms.codec.name} at ${terms.codec.frameMs} ms frames${terms.red ? ', with redundancy' : ''}, ${route}`;
}

/** A happening as one line; `me` is this client's name ("you" instead). */
export function describeHappening(h: RoomHappening, me: string): string {
  // Names are shown as registered, never capitalized.
  const who = (name: string) => (name === me ? 'You' : name);
  switch (h.what) {
    case 'joined':
      return `${h.name} joined.`;
    case 'left':
      return h.disconnected ? `${h.name} lost the server and is out of the room.` : `${h.name} left.`;
    case 'owner':
      return h.name === me ? 'You are the owner now: s starts the room.' : `${h.name} is the owner now.`;
    case 'offer':
      return `${who(h.by)} offered ${describeTerms(h.terms)}.`;
    case 'nacked':
      return `${who(h.by)} asked for other terms.`;
    case 'started':
      return `Audio with ${describeTerms(h.terms)}, encrypted with each member's own key.`;
    case 'incompatible':
      return `No codec every member can take (${h.members.join(', ')} asked for others).`;
    case 'untrusted':
      return `${h.name} is not heard: ${h.why}.`;
    case 'start-failed':
      return `Could not start: ${h.message}.`;
  }
}

/** Why entering a room failed, for the menu. */
export function describeRoomRefusal(code: string, how: 'create' | 'join', room: string | undefined, message: string): string {
  const named = room ? `"${room}"` : '';
  switch (code) {
    case 'room_full':
      return `Room ${named} is full.`;
    case 'room_exists':
      return `There is already a room ${named}: join it with 4 instead.`;
    case 'bad_room':
      return `${named} is not a room id: ${message}.`;
    case 'too_many_rooms':
      return 'The server has as many rooms as it allows: try again later.';
    case 'busy':
      return `You can't be in a room now: ${message}.`;
    default:
      return `Could not ${how} ${room ? `room ${named}` : 'a room'}: ${message}.`;
  }
}
