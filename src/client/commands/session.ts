/** What every scripted command starts with: reach the server, take a name, stop on a signal. */
import { randomBytes } from 'node:crypto';
import { EXIT, type ExitCode } from '../exit-codes';
import { Phone, ServerTrustError, type PhoneOptions } from '../phone';
import { hostPort } from '../signaling-client';
import { describeNameRefusal } from '../views/messages';
import type { Reporter } from './reporter';

/** Ends a scripted run with this exit code; its message has already been reported. */
export class ScriptExit extends Error {
  constructor(readonly code: ExitCode) {
    super(`exit ${code}`);
  }
}

/** A throwaway name for a command that only needs one to be allowed to ask things. */
export function temporaryName(command: string): string {
  return `${command}-${randomBytes(3).toString('hex')}`;
}

/** `claim: false` for a throwaway name: a server that claims names need not keep it for our key. */
export async function openPhone(opts: PhoneOptions, name: string, report: Reporter, claim = true): Promise<Phone> {
  let phone: Phone;
  try {
    phone = await Phone.connect(opts);
  } catch (err) {
    // Unreachable, or reached but not trusted (a wrong certificate, name or pin): both exit 3.
    const code = (err as { code?: string }).code;
    const untrusted = err instanceof ServerTrustError;
    report.problem(untrusted ? 'untrusted' : 'unreachable', untrusted ? { code, message: (err as Error).message } : { message: (err as Error).message }, (err as Error).message);
    throw new ScriptExit(EXIT.unreachable);
  }
  try {
    await phone.register(name, { claim });
  } catch (err) {
    const e = err as Error & { code?: string };
    await phone.close();
    if (e.code === 'disconnected') {
      report.problem('disconnected', { message: e.message }, `lost the server: ${e.message}`);
      throw new ScriptExit(EXIT.connectionLost);
    }
    report.problem('name_refused', { name, code: e.code, message: e.message }, describeNameRefusal(e.code ?? '', name, e.message));
    throw new ScriptExit(EXIT.nameRejected);
  }
  const server = hostPort(opts.server.host, opts.server.port);
  report.event('registered', { name: phone.name ?? name, server, tls: phone.secure }, `registered as ${phone.name ?? name} at ${server}`);
  if (!phone.secure) report.note(UNENCRYPTED_NOTE);
  reportReconnects(phone, report);
  return phone;
}

export const UNENCRYPTED_NOTE = 'note: the connection to the server is not encrypted (--tls, --ca FILE or --pin sha256/… to encrypt it)';

/** The server going away and coming back, and the peer doing so, as events: a live call goes on through them. */
function reportReconnects(phone: Phone, report: Reporter): void {
  phone.on('server_reconnecting', ({ reason, code }) =>
    report.event('server_reconnecting', code ? { reason, code } : { reason }, `lost the server (${reason}); reconnecting, the call goes on`),
  );
  phone.on('server_reconnected', ({ resumed, attempts, ms }) =>
    report.event('server_reconnected', { resumed, attempts, ms }, `back on the server as ${phone.name}${resumed ? '' : ' (registered again: the server had restarted)'}`),
  );
  phone.on('peer_reconnecting', ({ name, call }) => report.event('peer_reconnecting', { peer: name, call }, `${name} lost the server; the call goes on`));
  phone.on('peer_reconnected', ({ name, call }) => report.event('peer_reconnected', { peer: name, call }, `${name} is back on the server`));
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Aborts on the first SIGINT, SIGTERM or SIGHUP, so a run can hang up before it exits. Waiters
 * subscribe to the signal and unsubscribe when done, so nothing a call holds stays reachable
 * from the process's signal handlers after the call.
 */
export function whenSignalled(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = () => controller.abort();
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return { signal: controller.signal, dispose: () => STOP_SIGNALS.forEach((s) => process.off(s, handler)) };
}

/** Resolves when `signal` aborts; `cancel` drops the subscription. */
export function onAbort(signal: AbortSignal): { aborted: Promise<void>; cancel: () => void } {
  let cancel = () => undefined as void;
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const listener = () => resolve();
    signal.addEventListener('abort', listener, { once: true });
    cancel = () => signal.removeEventListener('abort', listener);
  });
  return { aborted, cancel };
}
