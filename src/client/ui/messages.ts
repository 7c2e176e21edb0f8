/** What each failure and ending means, in words a person reads; the screens and the scripted commands share them. */

export function describeCallFailure(reason: string, peer: string, detail?: string): string {
  switch (reason) {
    case 'declined':
      return `${peer} declined the call.`;
    case 'busy':
      return `${peer} is busy in another call.`;
    case 'offline':
    case 'not_found':
      return `${peer} is not online.`;
    case 'timeout':
      return `${peer} did not answer.`;
    case 'incompatible':
      return `Could not connect to ${peer}: no codec in common${detail ? ` (${detail})` : ''}.`;
    case 'no_media':
      return `Could not connect to ${peer}: no network path for the audio${detail ? ` (${detail})` : ''}.`;
    case 'device':
      return `Audio could not start: ${detail ?? 'the device would not open'}.`;
    case 'cancelled':
      return `Call to ${peer} cancelled.`;
    case 'self_call':
      return 'You cannot call yourself.';
    case 'peer_gone':
      return `${peer} went offline.`;
    case 'disconnected':
      return 'Lost the connection to the server.';
    default:
      return `The call to ${peer} failed${detail ? `: ${detail}` : ` (${reason})`}.`;
  }
}

/** Why an incoming call went away before it was answered. */
export function describeMissedCall(from: string, reason: string): string {
  return reason === 'timeout' ? `Missed call from ${from}.` : `${from} hung up before you answered.`;
}

export function describeCallEnd(peer: string, reason: string, byMe: boolean, seconds: number): string {
  const length = formatDuration(seconds);
  if (byMe) return `You hung up. The call with ${peer} lasted ${length}.`;
  switch (reason) {
    case 'hangup':
      return `${peer} hung up. The call lasted ${length}.`;
    case 'peer_gone':
      return `${peer} went away (connection lost). The call lasted ${length}.`;
    case 'no_media':
      return `The audio link to ${peer} failed. The call lasted ${length}.`;
    case 'device':
      return `Your audio device failed. The call with ${peer} lasted ${length}.`;
    case 'disconnected':
      return `Lost the server; the call with ${peer} ended after ${length}.`;
    default:
      return `The call with ${peer} ended (${reason}) after ${length}.`;
  }
}

export function describeNameRefusal(code: string, name: string, message: string): string {
  switch (code) {
    case 'name_taken':
      return `The name "${name}" is taken. Choose another.`;
    case 'bad_name':
      return `"${name}" is not a valid name: use 1-32 letters, digits, dots, dashes or underscores.`;
    default:
      return `The server refused "${name}": ${message}`;
  }
}

/** m:ss, or h:mm:ss past an hour. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
