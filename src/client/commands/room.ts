/** `parley room create [ROOM]` / `parley room join ROOM`: be in a room for a while, with everyone heard. */
import { CallFailedError } from '../call-errors';
import { EXIT, type ExitCode } from '../exit-codes';
import type { PhoneOptions, RoomSession } from '../phone';
import { SignalingError } from '../signaling-client';
import { describeTerms } from '../views/room-view';
import type { Reporter } from './reporter';
import { onAbort, openPhone, whenSignalled } from './session';

const STATS_EVERY_MS = 1000;

export interface RoomCommand {
  phone: PhoneOptions;
  name: string;
  how: 'create' | 'join';
  room?: string;
  /** As owner, start the session once this many members are in. */
  startAt?: number;
  /** Leave after this many seconds; otherwise stay until a signal. */
  durationS?: number;
}

/** Why entering a room failed, as the exit code a script tells it by. */
const REFUSALS: Record<string, ExitCode> = {
  room_full: EXIT.busy,
  room_exists: EXIT.busy,
  too_many_rooms: EXIT.busy,
  busy: EXIT.busy,
  bad_room: EXIT.usage,
  rate_limited: EXIT.rateLimited,
  disconnected: EXIT.connectionLost,
  timeout: EXIT.connectionLost,
};

export async function room(opts: RoomCommand, report: Reporter): Promise<ExitCode> {
  const signalled = whenSignalled();
  const phone = await openPhone(opts.phone, opts.name, report);
  try {
    let session: RoomSession;
    try {
      session = await phone.enterRoom(opts.how, opts.room);
    } catch (err) {
      const e = err as Error & { code?: string };
      if (err instanceof CallFailedError) {
        report.problem('failed', { room: opts.room, cause: err.end.cause, message: e.message }, e.message, err.end.detail);
        return err.end.cause === 'no_path' ? EXIT.incompatible : EXIT.failed;
      }
      report.problem('refused', { room: opts.room, code: e.code, message: e.message }, `room ${opts.room ?? '(new)'}: ${e.message}`);
      return err instanceof SignalingError ? (REFUSALS[e.code ?? ''] ?? EXIT.failed) : EXIT.failed;
    }
    return await stay(session, opts, report, signalled.signal);
  } finally {
    signalled.dispose();
    await phone.close();
  }
}

async function stay(session: RoomSession, opts: RoomCommand, report: Reporter, stop: AbortSignal): Promise<ExitCode> {
  report.event(
    'joined',
    { room: session.id, created: session.created, owner: session.owner, members: session.members, phase: session.phase },
    `${session.created ? 'created' : 'joined'} room ${session.id} (owner ${session.owner}; ${session.members.length} in it: ${session.members.join(', ')})`,
  );
  const startIfDue = () => {
    if (opts.startAt !== undefined && session.isOwner && session.phase === 'open' && session.members.length >= opts.startAt) {
      session.start().catch((err: Error) => report.problem('start_failed', { room: session.id, message: err.message }, `could not start: ${err.message}`));
    }
  };
  session.on('member_joined', ({ name }) => {
    report.event('member_joined', { room: session.id, name, members: session.members }, `${name} joined (${session.members.length} in the room)`);
    startIfDue();
  });
  session.on('member_left', ({ name, owner, disconnected }) =>
    report.event(disconnected ? 'member_disconnected' : 'member_left', { room: session.id, name, owner }, `${name} ${disconnected ? 'lost the server' : 'left'}`),
  );
  session.on('owner', ({ name }) => {
    report.event('owner', { room: session.id, name }, name === opts.name ? 'you are the owner now' : `${name} is the owner now`);
    startIfDue();
  });
  session.on('offer', ({ round, by, terms }) => report.event('offer', { room: session.id, round, by, terms }, `${by} offers ${describeTerms(terms)}`));
  session.on('acked', ({ round, by }) => report.event('acked', { room: session.id, round, by }, `${by} accepted round ${round}`));
  session.on('nacked', ({ round, by, counter }) => report.event('nacked', { room: session.id, round, by, counter }, `${by} asked for other terms in round ${round}`));
  session.on('incompatible', ({ round, members }) =>
    report.problem('incompatible', { room: session.id, round, members }, `no codec every member can take (${members.join(', ')} asked for others)`),
  );
  session.on('started', ({ round, terms }) => report.event('started', { room: session.id, round, terms }, `audio with ${describeTerms(terms)}, encrypted with each member's own key`));
  session.on('audio', ({ name }) => report.quiet('audio', { room: session.id, from: name }));
  session.on('unreachable', ({ name }) =>
    report.problem('unreachable', { room: session.id, name }, `${name} answers no direct path, and this server forwards no room media: ${name} does not hear you`),
  );
  session.on('untrusted', ({ name, why }) => report.problem('untrusted', { room: session.id, name, why }, `${name} is not heard: ${why}`));
  startIfDue();

  // The figures at the last moment media ran: what `ended` reports.
  let lastStats: unknown = null;
  const snapshot = () => {
    const media = session.media;
    if (media) lastStats = media.stats();
    return media;
  };
  const ticker = setInterval(() => {
    const media = snapshot();
    if (media) report.quiet('stats', { room: session.id, members: media.members() });
  }, STATS_EVERY_MS);
  const ended = new Promise<NonNullable<RoomSession['ended']>>((resolve) => session.once('ended', resolve));
  const aborted = onAbort(stop);
  let timer: NodeJS.Timeout | undefined;
  const enough = new Promise<null>((resolve) => {
    if (opts.durationS !== undefined) timer = setTimeout(() => resolve(null), opts.durationS * 1000);
    void aborted.aborted.then(() => resolve(null));
  });
  const startedAt = Date.now();
  try {
    const early = await Promise.race([ended, enough]);
    if (!early) snapshot();
    const end = early ?? (await session.leave(), await ended);
    const fields = { room: session.id, reason: end.reason, seconds: Math.round((Date.now() - startedAt) / 10) / 100, stats: lastStats };
    if (end.reason === 'failed') report.problem('ended', { ...fields, message: end.message }, `left room ${session.id}: ${end.message}`);
    else report.event('ended', fields, `left room ${session.id}`);
    return end.reason === 'left' ? EXIT.ok : end.reason === 'disconnected' ? EXIT.connectionLost : EXIT.failed;
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
    aborted.cancel();
  }
}
