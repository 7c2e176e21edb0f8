import { ROOM_ID_PATTERN, type ForwardOffer, type MemberKey, type ServerMessage, type ServerMessageOf } from '../../protocol';
import type { Clock } from '../clock';
import type { ServerLimits } from '../limits';
import type { Logger } from '../logger';
import type { Failure } from '../refusals';
import type { Session } from '../registry';
import type { Forwarder } from './forwarder';
import { mintRoomId } from './room-ids';
import { RoomLimits } from './room-limits';
import { nextRoomState, type Offer, type RoomEvent, type RoomState } from './room-state';

interface Member {
  readonly session: Session;
  readonly key: MemberKey;
}

interface Room {
  readonly id: string;
  /** In joining order: the first is the longest present, the owner's successor when it goes. */
  readonly members: Map<Session, Member>;
  state: RoomState;
  /** The last round started: rounds only grow, so a stale answer never matches. */
  rounds: number;
}

/** What a create or join is answered with (the dispatcher adds the type and req). */
export type RoomView = Omit<ServerMessageOf<'room.created'>, 'type' | 'req'>;

/** How a member went: on purpose (leave, bye, grace over) or with its connection. */
export type Departure = 'left' | 'disconnected';

/**
 * Owns every room: who is in it and who owns it, its rounds of negotiation, the limits on rooms
 * and on each session's room requests, and which message each member receives at each step.
 * A session is in one room at most; a broadcast is one send per member, at most maxRoomMembers.
 */
export class RoomBroker {
  private readonly rooms = new Map<string, Room>();
  private readonly bySession = new Map<Session, Room>();
  private readonly budget: RoomLimits;

  constructor(
    private readonly opts: {
      limits: ServerLimits;
      clock: Clock;
      log: Logger;
      /** The media forwarder, when it runs: each member admitted gets credentials for it. */
      forwarder?: Forwarder;
    },
  ) {
    this.budget = new RoomLimits(opts.limits, opts.clock);
  }

  get size(): number {
    return this.rooms.size;
  }

  get members(): number {
    return this.bySession.size;
  }

  inRoom(session: Session): boolean {
    return this.bySession.has(session);
  }

  create(session: Session, asked: string | undefined, key: MemberKey): RoomView | Failure {
    const refused = this.canEnter(session);
    if (refused) return refused;
    if (asked !== undefined && !ROOM_ID_PATTERN.test(asked)) return badRoom();
    if (asked !== undefined && this.rooms.has(keyOf(asked))) return { code: 'room_exists', message: `a room "${asked}" exists: join it instead` };
    const full = this.roomsFull();
    if (full) return full;
    return this.open(asked ?? mintRoomId((id) => this.rooms.has(keyOf(id))), session, key);
  }

  join(session: Session, id: string, key: MemberKey): (RoomView & { created: boolean }) | Failure {
    const refused = this.canEnter(session);
    if (refused) return refused;
    if (!ROOM_ID_PATTERN.test(id)) return badRoom();
    const room = this.rooms.get(keyOf(id));
    if (!room) {
      const full = this.roomsFull();
      return full ?? { ...this.open(id, session, key), created: true };
    }
    if (room.members.size >= this.opts.limits.maxRoomMembers) return { code: 'room_full', message: `room ${room.id} has ${room.members.size} members, the most it may have` };
    this.broadcast(room, { type: 'room.member_joined', room: room.id, name: session.name, key });
    room.members.set(session, { session, key });
    this.bySession.set(session, room);
    this.opts.log.info('room joined', { room: room.id, name: session.name, members: room.members.size });
    return { ...this.view(room, session), created: false };
  }

  leave(session: Session, id: string): Failure | null {
    const room = this.roomOf(session, id);
    if ('code' in room) return room;
    this.remove(session, 'left');
    return null;
  }

  start(session: Session, id: string, offer: Offer): Failure | null {
    const limited = this.budget.take(session, 'start');
    if (limited) return limited;
    const room = this.roomOf(session, id);
    if ('code' in room) return room;
    if (room.state.owner !== session.name) return { code: 'not_owner', message: `only the room's owner (${room.state.owner}) may start a round` };
    if (room.members.size < 2) return { code: 'wrong_state', message: 'you are alone in the room: a round needs another member to answer it' };
    const round = room.rounds + 1;
    const f = this.step(room, { kind: 'start', by: session.name, round, offer });
    if (f) return f;
    room.rounds = round;
    this.broadcast(room, { type: 'room.offer', room: room.id, round, by: session.name, offer }, session);
    this.opts.log.info('room round started', { room: room.id, round, members: room.members.size });
    return null;
  }

  ack(session: Session, id: string, round: number): Failure | null {
    const room = this.roomOf(session, id);
    if ('code' in room) return room;
    const was = room.state.phase;
    const f = this.step(room, { kind: 'ack', by: session.name, round });
    if (f) return f;
    this.broadcast(room, { type: 'room.acked', room: room.id, round, by: session.name });
    if (was === 'negotiating') this.completed(room);
    return null;
  }

  nack(session: Session, id: string, round: number, counter: Offer): Failure | null {
    const room = this.roomOf(session, id);
    if ('code' in room) return room;
    const f = this.step(room, { kind: 'nack', by: session.name, round });
    if (f) return f;
    this.broadcast(room, { type: 'room.nacked', room: room.id, round, by: session.name, counter });
    return null;
  }

  /** A sender key sealed to one member, passed on unread. */
  key(session: Session, id: string, to: string, epoch: number, sealed: string): Failure | null {
    const target = this.recipient(session, 'key', id, to);
    if ('code' in target) return target;
    target.session.send({ type: 'room.key', room: target.room.id, from: session.name, epoch, sealed });
    return null;
  }

  /** A media signal (a mesh pair's ICE credentials and candidates) for one member, passed on unread. */
  signal(session: Session, id: string, to: string, body: Offer): Failure | null {
    const target = this.recipient(session, 'signal', id, to);
    if ('code' in target) return target;
    target.session.send({ type: 'room.signal', room: target.room.id, from: session.name, body });
    return null;
  }

  /** The other member of the session's room named `to`, once the request is within the session's budget. */
  private recipient(session: Session, kind: 'key' | 'signal', id: string, to: string): { room: Room; session: Session } | Failure {
    const limited = this.budget.take(session, kind);
    if (limited) return limited;
    const room = this.roomOf(session, id);
    if ('code' in room) return room;
    const target = [...room.members.keys()].find((s) => s !== session && s.name.toLowerCase() === to.toLowerCase());
    if (!target) return { code: 'not_found', message: `no other member of room ${room.id} is named "${clip(to)}"` };
    return { room, session: target };
  }

  /** The session leaves its room, if it is in one: the others are told how, and who owns it now. */
  remove(session: Session, how: Departure): void {
    const room = this.bySession.get(session);
    if (!room) return;
    room.members.delete(session);
    this.bySession.delete(session);
    this.opts.forwarder?.evict(session);
    if (room.members.size === 0) {
      this.rooms.delete(keyOf(room.id));
      this.opts.log.info('room closed', { room: room.id });
      return;
    }
    const owner = room.state.owner === session.name ? room.members.keys().next().value!.name : room.state.owner;
    const was = room.state.phase;
    this.step(room, { kind: 'left', name: session.name, owner });
    const type = how === 'left' ? 'room.member_left' : 'room.member_disconnected';
    this.broadcast(room, { type, room: room.id, name: session.name, owner });
    this.opts.log.info(how === 'left' ? 'room left' : 'room member disconnected', { room: room.id, name: session.name, owner, members: room.members.size });
    if (was === 'negotiating') this.completed(room);
  }

  /** Every room goes at once (server shutdown). */
  clear(): void {
    for (const s of [...this.bySession.keys()]) this.opts.forwarder?.evict(s);
    this.rooms.clear();
    this.bySession.clear();
  }

  private canEnter(session: Session): Failure | null {
    const limited = this.budget.take(session, 'join');
    if (limited) return limited;
    const current = this.bySession.get(session);
    if (current) return { code: 'busy', message: `you are in room ${current.id}: leave it first` };
    if (session.callId) return { code: 'busy', message: 'you are in a call: hang up first' };
    return null;
  }

  private roomsFull(): Failure | null {
    if (this.rooms.size < this.opts.limits.maxRooms) return null;
    return { code: 'too_many_rooms', message: `the server holds ${this.rooms.size} rooms, the most it may` };
  }

  private open(id: string, session: Session, key: MemberKey): RoomView {
    const room: Room = { id, members: new Map([[session, { session, key }]]), state: { phase: 'open', owner: session.name }, rounds: 0 };
    this.rooms.set(keyOf(id), room);
    this.bySession.set(session, room);
    this.opts.log.info('room created', { room: id, owner: session.name });
    return this.view(room, session);
  }

  /** The room as a new member sees it, with its forwarder credentials when the forwarder runs. */
  private view(room: Room, session: Session): RoomView {
    const members = [...room.members.values()].map((m) => ({ name: m.session.name, key: m.key }));
    const view: RoomView = { room: room.id, owner: room.state.owner, members, phase: room.state.phase };
    if (room.state.phase !== 'open') {
      view.round = room.state.round;
      view.offer = room.state.offer;
    }
    const forward: ForwardOffer | undefined = this.opts.forwarder?.admit(keyOf(room.id), session);
    if (forward) view.forward = forward;
    return view;
  }

  /** The session's room, when `id` names it. */
  private roomOf(session: Session, id: string): Room | Failure {
    const room = this.bySession.get(session);
    if (!room || keyOf(id) !== keyOf(room.id)) return { code: 'no_such_room', message: `you are not in a room "${clip(id)}"` };
    return room;
  }

  private step(room: Room, event: RoomEvent): Failure | null {
    const names = new Set<string>();
    for (const s of room.members.keys()) names.add(s.name);
    const next = nextRoomState(room.state, event, names);
    if (!next) return { code: 'wrong_state', message: refusal(room.state, event) };
    room.state = next;
    return null;
  }

  /** A round that just went from negotiating to running: everyone hears it was accepted. */
  private completed(room: Room): void {
    const s = room.state;
    if (s.phase !== 'running') return;
    this.broadcast(room, { type: 'room.all_accepted', room: room.id, round: s.round, offer: s.offer });
    this.opts.log.info('room round accepted', { room: room.id, round: s.round, members: room.members.size });
  }

  private broadcast(room: Room, msg: ServerMessage, except?: Session): void {
    for (const s of room.members.keys()) if (s !== except) s.send(msg);
  }
}

/** Room ids are unique case-insensitively. */
function keyOf(id: string): string {
  return id.toLowerCase();
}

function badRoom(): Failure {
  return { code: 'bad_room', message: 'a room id is 1 to 40 letters, digits, ".", "_" or "-"' };
}

/** Why an event does not fit the room's state, for the member who sent it. */
function refusal(state: RoomState, event: RoomEvent): string {
  if (event.kind === 'ack' || event.kind === 'nack') {
    if (state.phase === 'open') return 'no round is out in this room';
    if (event.round !== state.round) return `round ${event.round} is not the current one (${state.round})`;
    return `you already answered round ${state.round}`;
  }
  return `cannot ${event.kind} in a room that is ${state.phase}`;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
