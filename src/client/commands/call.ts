/** `parley call NAME`: call someone, talk for a while, hang up; the exit code says how it went. */
import { exitCodeFor } from '../call-reasons';
import { CallFailedError } from '../call-errors';
import type { ExitCode } from '../exit-codes';
import type { PhoneOptions } from '../phone';
import { describeCallFailure, describeIdentityWarning } from '../views/messages';
import type { Reporter } from './reporter';
import { onAbort, openPhone, temporaryName, whenSignalled } from './session';
import { talk } from './talk';

export interface CallCommand {
  phone: PhoneOptions;
  name?: string;
  to: string;
  durationS?: number;
}

export async function call(opts: CallCommand, report: Reporter): Promise<ExitCode> {
  const signalled = whenSignalled();
  const phone = await openPhone(opts.phone, opts.name ?? temporaryName('call'), report, opts.name !== undefined);
  try {
    phone.on('identity-changed', (w) => report.problem('identity_changed', { ...w, message: describeIdentityWarning(w) }, describeIdentityWarning(w)));
    const outgoing = phone.call(opts.to);
    outgoing.once('ringing', ({ call: id }) => report.event('ringing', { to: opts.to, call: id }, `calling ${opts.to}…`));
    const stop = onAbort(signalled.signal);
    void stop.aborted.then(() => outgoing.cancel());
    let active;
    try {
      active = await outgoing.result;
    } catch (err) {
      const end = err instanceof CallFailedError ? err.end : { reason: 'error' as const, byMe: true, message: (err as Error).message };
      const fields = { to: opts.to, reason: end.reason, cause: end.cause, message: (err as Error).message };
      if (end.reason === 'cancelled' && end.byMe) report.event('cancelled', fields, describeCallFailure(opts.to, end));
      else report.problem('failed', fields, describeCallFailure(opts.to, end), end.detail);
      return exitCodeFor(end, false);
    } finally {
      stop.cancel();
    }
    return await talk(active, report, { durationS: opts.durationS, stop: signalled.signal });
  } finally {
    signalled.dispose();
    await phone.close();
  }
}
