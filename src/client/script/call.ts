/** `parley call NAME`: call someone, talk for a while, hang up; the exit code says how it went. */
import { exitCodeForCallFailure, type ExitCode } from '../exit-codes';
import { describeCallFailure } from '../ui/messages';
import type { PhoneOptions } from '../phone';
import type { Reporter } from './reporter';
import { openPhone, temporaryName, whenSignalled } from './session';
import { talk } from './talk';

export interface CallCommand {
  phone: PhoneOptions;
  name?: string;
  to: string;
  durationS?: number;
}

export async function call(opts: CallCommand, report: Reporter): Promise<ExitCode> {
  const signalled = whenSignalled();
  const phone = await openPhone(opts.phone, opts.name ?? temporaryName('call'), report);
  try {
    const outgoing = phone.call(opts.to);
    report.event('ringing', { to: opts.to }, `calling ${opts.to}…`);
    signalled.promise.then(() => outgoing.cancel()).catch(() => undefined);
    let active;
    try {
      active = await outgoing.result;
    } catch (err) {
      const e = err as Error & { reason?: string };
      const reason = e.reason ?? 'failed';
      report.problem('failed', { to: opts.to, reason, message: e.message }, describeCallFailure(reason, opts.to, e.message));
      return exitCodeForCallFailure(reason);
    }
    return await talk(active, report, { durationS: opts.durationS, stop: signalled.promise });
  } finally {
    signalled.dispose();
    await phone.close();
  }
}
