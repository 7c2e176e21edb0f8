/** What each failure and ending means, in words a person reads; the screens and the scripted commands share them. */
import type { DeviceChange } from '../device-failover';
import type { IdentityWarning } from '../phone';
export { describeCallEnd, describeCallFailure, describeMissedCall, formatDuration } from '../call-reasons';

export function describeNameRefusal(code: string, name: string, message: string): string {
  switch (code) {
    case 'name_taken':
      return `The name "${name}" is taken. Choose another.`;
    case 'name_claimed':
      return `The name "${name}" is claimed on this server by another identity key. Choose another.`;
    case 'bad_name':
      return `"${name}" is not a valid name: use 1-32 letters, digits, dots, dashes or underscores.`;
    default:
      return `The server refused "${name}": ${message}`;
  }
}

/** A device change during a call, in one line: "Speaker failed (…): now playing to …; the call goes on." */
export function describeDeviceChange(c: DeviceChange): string {
  const what = c.side === 'output' ? 'Speaker' : 'Microphone';
  const now = c.silent ? (c.side === 'output' ? 'the other side is no longer heard' : 'the other side hears silence') : `now ${c.side === 'output' ? 'playing to' : 'recording from'} ${c.to}`;
  return `${what} changed (${c.reason}): ${now}; the call goes on.`;
}

/** A peer's identity key changed: said loudly, before any audio, whether the call goes on or not. */
export function describeIdentityWarning(w: IdentityWarning): string {
  const head =
    `WARNING: ${w.peer}'s identity key has changed! Remembered ${w.knownFingerprint}, now ${w.newFingerprint}. ` +
    `Someone may be listening in between, or ${w.peer} has a new key (ask them by other means).`;
  return w.accepted
    ? `${head} Taking the new key (--accept-new-key) and remembering it; check the SAS with ${w.peer}.`
    : `${head} Call refused; if ${w.peer} really has a new key, run with --accept-new-key.`;
}
