/** A connected call in a scripted run: report it, keep it up for its duration, report how it ended. */
import { exitCodeForCallEnd, type ExitCode } from '../exit-codes';
import { callView, liveView } from '../ui/call-view';
import { describeCallEnd } from '../ui/messages';
import type { ActiveCall } from '../phone';
import type { LiveView } from '../ui/state';
import type { Reporter } from './reporter';

const STATS_EVERY_MS = 1000;

export interface TalkOptions {
  /** Hang up after this many seconds; otherwise talk until the other side hangs up or `stop` resolves. */
  durationS?: number;
  stop: Promise<unknown>;
}

export async function talk(call: ActiveCall, report: Reporter, opts: TalkOptions): Promise<ExitCode> {
  const view = callView(call);
  report.event(
    'connected',
    { peer: call.peer, call: call.id, codec: call.codec, frameMs: call.frameMs },
    `connected to ${call.peer}: ${view.codec}, ${view.frameMs} ms frames`,
  );
  let byMe = false;
  const ended = new Promise<{ reason: string }>((resolve) => call.once('ended', resolve));
  const ticker = setInterval(() => report.quiet('stats', { peer: call.peer, ...figures(liveView(call)) }), STATS_EVERY_MS);
  const timers: NodeJS.Timeout[] = [];
  const enough = new Promise<void>((resolve) => {
    if (opts.durationS !== undefined) timers.push(setTimeout(resolve, opts.durationS * 1000));
    opts.stop.then(() => resolve());
  });
  const first = await Promise.race([ended, enough.then(() => null)]);
  let end = first;
  if (!end) {
    byMe = true;
    await call.hangup();
    end = await ended;
  }
  clearInterval(ticker);
  timers.forEach(clearTimeout);
  const seconds = (Date.now() - call.startedAt) / 1000;
  const live = liveView(call);
  report.event(
    'ended',
    { peer: call.peer, reason: end.reason, by: byMe ? 'me' : 'peer', seconds: round(seconds), stats: figures(live) },
    `${describeCallEnd(call.peer, end.reason, byMe, seconds)}\n` +
      `  sent ${live.sent} packets, received ${live.received}, loss ${live.lossPct.toFixed(1)}%, jitter ${live.jitterMs.toFixed(1)} ms`,
  );
  return exitCodeForCallEnd(end.reason, byMe);
}

/** The live figures as JSON wants them: rounded, without the sampling clock. */
function figures(v: LiveView): Record<string, number | null> {
  const { now: _now, ...rest } = v;
  return Object.fromEntries(Object.entries(rest).map(([k, x]) => [k, x === null || !Number.isFinite(x) ? null : round(x)]));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
