/** What every scripted command starts with: reach the server, take a name, stop on a signal. */
import { randomBytes } from 'node:crypto';
import { EXIT, type ExitCode } from '../exit-codes';
import { describeNameRefusal } from '../ui/messages';
import { Phone, type PhoneOptions } from '../phone';
import type { Reporter } from './reporter';

/** Ends a scripted run with this exit code; its message has already been reported. */
export class ScriptExit extends Error {
  constructor(readonly code: ExitCode) {
    super(`exit ${code}`);
  }
}

export interface ScriptOptions {
  name?: string;
  phone: PhoneOptions;
  json: boolean;
}

/** A throwaway name for a command that only needs one to be allowed to ask things. */
export function temporaryName(command: string): string {
  return `${command}-${randomBytes(3).toString('hex')}`;
}

export async function openPhone(opts: PhoneOptions, name: string, report: Reporter): Promise<Phone> {
  let phone: Phone;
  try {
    phone = await Phone.connect(opts);
  } catch (err) {
    report.problem('unreachable', { message: (err as Error).message }, (err as Error).message);
    throw new ScriptExit(EXIT.unreachable);
  }
  try {
    await phone.register(name);
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
  const server = `${opts.server.host}:${opts.server.port}`;
  report.event('registered', { name: phone.name ?? name, server }, `registered as ${phone.name ?? name} at ${server}`);
  return phone;
}

/** Resolves on the first SIGINT, SIGTERM or SIGHUP, so a run can hang up before it exits. */
export function whenSignalled(): { promise: Promise<string>; dispose: () => void } {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let handler: (s: string) => void = () => undefined;
  const promise = new Promise<string>((resolve) => {
    handler = resolve;
    for (const s of signals) process.on(s, handler);
  });
  return { promise, dispose: () => signals.forEach((s) => process.off(s, handler)) };
}
