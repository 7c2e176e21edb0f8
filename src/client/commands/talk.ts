/** A connected call in a scripted run: report it, keep it up for its duration, report how it ended. */
import { exitCodeFor, partyOf, type CallEnd } from '../call-reasons';
import type { ExitCode } from '../exit-codes';
import type { ActiveCall, PathInfo } from '../phone';
import { callView, describePath, describeVoice, liveView, pathFields, type LiveView } from '../views/call-view';
import { describeCallEnd, describeDeviceChange } from '../views/messages';
import type { Reporter } from './reporter';
import { onAbort } from './session';

const STATS_EVERY_MS = 1000;

export interface TalkOptions {
  /** Hang up after this many seconds; otherwise talk until the other side hangs up or `stop` aborts. */
  durationS?: number;
  stop: AbortSignal;
}

export async function talk(call: ActiveCall, report: Reporter, opts: TalkOptions): Promise<ExitCode> {
  const view = callView(call);
  report.event(
    'connected',
    { peer: call.peer, call: call.id, codec: call.codec, frameMs: call.frameMs, path: pathFields(call.path), sas: call.sas, peerKey: call.peerFingerprint, processing: call.voice },
    `connected to ${call.peer}: ${view.codec}, ${view.frameMs} ms frames, ${describePath(call.path)}; encrypted, SAS ${call.sas} (the same on both sides unless someone is in between)`,
  );
  const processing = describeVoice(call.voice);
  if (processing !== 'none') report.note(`  microphone: ${processing}`);
  if (call.voice.missing.length) report.problem('processing', { peer: call.peer, missing: call.voice.missing }, `microphone processing not available here: ${call.voice.missing.join('; ')}`);
  // A device that fails moves to another and the call goes on: say so.
  call.on('device', (change) => report.event('device', { peer: call.peer, ...change }, describeDeviceChange(change)));
  let lastPath = call.path;
  const onPath = (p: PathInfo) => (lastPath = p) && report.event('path', { peer: call.peer, path: pathFields(p) }, `audio now goes ${describePath(p)} (${p.why})`);
  const onReconnecting = (why: string) => report.event('reconnecting', { peer: call.peer, why }, `${why}: checking paths again`);
  call.on('path', onPath);
  call.on('reconnecting', onReconnecting);
  call.once('audio', () => report.quiet('audio', { peer: call.peer }));
  const ended = new Promise<CallEnd>((resolve) => call.once('ended', resolve));
  const ticker = setInterval(() => report.quiet('stats', { peer: call.peer, ...figures(liveView(call)), path: call.path?.kind ?? null }), STATS_EVERY_MS);
  const stop = onAbort(opts.stop);
  let timer: NodeJS.Timeout | undefined;
  const enough = new Promise<null>((resolve) => {
    if (opts.durationS !== undefined) timer = setTimeout(() => resolve(null), opts.durationS * 1000);
    void stop.aborted.then(() => resolve(null));
  });
  let end: CallEnd;
  try {
    end = (await Promise.race([ended, enough])) ?? (await call.hangup(), await ended);
  } finally {
    call.off('path', onPath);
    call.off('reconnecting', onReconnecting);
    clearInterval(ticker);
    clearTimeout(timer);
    stop.cancel();
  }
  const seconds = (Date.now() - call.startedAt) / 1000;
  const live = liveView(call);
  const fields = { peer: call.peer, reason: end.reason, cause: end.cause, by: partyOf(end), seconds: round(seconds), stats: figures(live), path: lastPath?.kind ?? null };
  const text =
    `${describeCallEnd(call.peer, end, seconds)}\n` +
    `  sent ${live.sent} packets, received ${live.received}, loss ${live.lossPct.toFixed(1)}%, jitter ${live.jitterMs.toFixed(1)} ms`;
  if (end.reason === 'failed') report.problem('ended', { ...fields, message: end.message }, text, end.detail);
  else report.event('ended', fields, text);
  return exitCodeFor(end, true);
}

/** The live figures as JSON wants them: rounded, without the sampling clock. */
function figures(v: LiveView): Record<string, number | boolean | null> {
  const { now: _now, path: _path, ...rest } = v;
  return Object.fromEntries(Object.entries(rest).map(([k, x]) => [k, typeof x === 'boolean' ? x : x === null || !Number.isFinite(x) ? null : round(x)]));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
