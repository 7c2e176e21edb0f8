/** `parley answer --auto`: wait under a name, accept each call, talk until it ends. */
import { CallFailedError } from '../call-errors';
import { EXIT, type ExitCode } from '../exit-codes';
import type { IncomingCall, PhoneOptions } from '../phone';
import type { OutputSpec } from '../call-media';
import { describeLocalFailure, exitCodeFor } from '../call-reasons';
import { checkFiles } from '../call-media';
import { describeIdentityWarning, describeMissedCall } from '../views/messages';
import type { Reporter } from './reporter';
import { onAbort, openPhone, whenSignalled } from './session';
import { talk } from './talk';

export interface AnswerCommand {
  phone: PhoneOptions;
  name: string;
  /** Exit after this many calls have been answered and ended; otherwise answer until stopped. */
  maxCalls?: number;
  durationS?: number;
}

export async function answer(opts: AnswerCommand, report: Reporter): Promise<ExitCode> {
  // A file that can't be read or written would fail every call: say so now, before waiting.
  try {
    await checkFiles(opts.phone.input ?? 'tone', opts.phone.output ?? 'null');
  } catch (err) {
    const end = (err as CallFailedError).end;
    const text = describeLocalFailure(end);
    report.problem('failed', { reason: end.reason, cause: end.cause, message: text }, text, end.detail);
    return EXIT.failed;
  }
  const signalled = whenSignalled();
  const phone = await openPhone(opts.phone, opts.name, report);
  const me = phone.name ?? opts.name;
  let answered = 0;
  let inCall = false;
  /** How the last call went: what a run answering a set number of calls exits with. */
  let lastExit: ExitCode = EXIT.ok;
  const stop = onAbort(signalled.signal);
  try {
    return await new Promise<ExitCode>((resolve) => {
      phone.once('disconnected', ({ reason }: { reason: string }) => {
        report.problem('disconnected', { reason }, `lost the server: ${reason}`);
        resolve(EXIT.connectionLost);
      });
      // A call in progress hangs up first (talk() watches the same signal), then we resolve.
      void stop.aborted.then(() => {
        if (!inCall) resolve(EXIT.ok);
      });
      phone.on('incoming', async (incoming: IncomingCall) => {
        if (signalled.signal.aborted) return void incoming.decline();
        inCall = true;
        const n = ++answered;
        report.event('incoming', { from: incoming.from, call: incoming.id }, `${incoming.from} is calling; answering`);
        try {
          const active = await incoming.accept({ input: opts.phone.input, output: numbered(opts.phone.output, n) });
          lastExit = await talk(active, report, { durationS: opts.durationS, stop: signalled.signal });
        } catch (err) {
          const end = err instanceof CallFailedError ? err.end : { reason: 'error' as const, byMe: true, message: (err as Error).message };
          const text = describeMissedCall(incoming.from, end);
          report.problem('failed', { from: incoming.from, reason: end.reason, cause: end.cause, message: text }, text, end.detail);
          lastExit = exitCodeFor(end, false);
        }
        inCall = false;
        if (signalled.signal.aborted) resolve(EXIT.ok);
        else if (opts.maxCalls !== undefined && n >= opts.maxCalls) resolve(lastExit);
      });
      phone.on('call-failed', ({ message }) => report.problem('refused', { message }, message));
      phone.on('identity-changed', (w) => report.problem('identity_changed', { ...w, message: describeIdentityWarning(w) }, describeIdentityWarning(w)));
      report.event('waiting', { name: me }, `waiting for calls as ${me}`);
    });
  } finally {
    stop.cancel();
    signalled.dispose();
    await phone.close();
  }
}

/** The Nth call's recording goes to its own file: x.wav, x-2.wav, x-3.wav… */
function numbered(output: OutputSpec | undefined, n: number): OutputSpec | undefined {
  if (typeof output !== 'string' || n === 1 || !/\.wav$/i.test(output)) return output;
  return output.replace(/\.wav$/i, `-${n}.wav`);
}
