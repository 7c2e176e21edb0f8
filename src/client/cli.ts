/** `parley`: the interactive client, or one scripted command (users, call, answer, doctor). */
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '../protocol';
import { EXIT, type ExitCode } from './exit-codes';
import { answer } from './script/answer';
import { call } from './script/call';
import { doctor } from './script/doctor';
import { Reporter } from './script/reporter';
import { ScriptExit } from './script/session';
import { users } from './script/users';
import { runInteractive } from './ui/app';
import type { PhoneOptions } from './phone';
import { VERSION } from '../version';

const DEFAULT_PORT = 7100;

export const USAGE = `usage:
  parley [--name NAME] [options]              the interactive client
  parley users [options]                      list who is online
  parley call NAME [--duration S] [options]   call NAME, talk S seconds (or until they hang up)
  parley answer --auto --name NAME [--max-calls N] [--duration S] [options]
                                              accept every call to NAME
  parley doctor                               which codecs and audio devices work here
  parley --version [--verbose]                the version (with --verbose, the doctor report too)

options:
  --name NAME          the name to register (interactive: asked for when missing)
  --server HOST:PORT   the parley server (default 127.0.0.1:${DEFAULT_PORT}, or $PARLEY_SERVER)
  --port N             local UDP port for audio (default 0: any free port)
  --input SPEC         mic | tone | tone:HZ | silence | FILE.wav
                       (default: mic interactively, tone in scripts)
  --output SPEC        speaker | speaker:aplay | null | FILE.wav
                       (default: speaker interactively, null in scripts)
  --codec opus|pcm     use only this codec (default: opus, falling back to pcm)
  --frame 10|20|40     audio frame length in ms (default 20)
  --hangup-key K       the key that hangs up a call (default h)
  --json               scripts: print one JSON event per line
  -h, --help           this help

exit codes: 0 ok, 1 audio or other failure, 2 usage, 3 server unreachable, 4 name refused,
  5 not found, 6 declined, 7 busy, 8 no answer, 9 incompatible, 10 connection lost`;

const OPTIONS = {
  name: { type: 'string' },
  server: { type: 'string' },
  port: { type: 'string', default: '0' },
  input: { type: 'string' },
  output: { type: 'string' },
  codec: { type: 'string' },
  frame: { type: 'string', default: '20' },
  'hangup-key': { type: 'string', default: 'h' },
  duration: { type: 'string' },
  auto: { type: 'boolean', default: false },
  'max-calls': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
  verbose: { type: 'boolean', default: false },
} as const;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<void> {
  // Whoever read our output went away (a closed pipe, a vanished terminal): leave as on a
  // hang-up, hanging up any call, instead of dying on an unhandled EPIPE.
  let gone = false;
  const outputGone = () => {
    if (!gone) process.kill(process.pid, 'SIGHUP');
    gone = true;
  };
  process.stdout.on('error', outputGone);
  process.stderr.on('error', outputGone);
  let code: ExitCode;
  try {
    code = await run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`parley: ${err.message}\n\n${USAGE}\n`);
      code = EXIT.usage;
    } else if (err instanceof ScriptExit) {
      code = err.code;
    } else {
      process.stderr.write(`parley: ${(err as Error).message}\n`);
      code = EXIT.failed;
    }
  }
  // Leave once stdout has drained; a stray timer or socket must not keep the process alive.
  process.stdout.write('', () => process.exit(code));
}

async function run(argv: string[]): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  if (v.version) {
    process.stdout.write(`parley ${VERSION} (protocol v${PROTOCOL_VERSION}, node ${process.versions.node})\n`);
    return v.verbose ? doctor(new Reporter(v.json)) : EXIT.ok;
  }
  const [command, ...rest] = positionals;
  const scripted = command !== undefined;
  const phone = phoneOptions(v, scripted);
  const report = new Reporter(v.json);
  const durationS = v.duration === undefined ? undefined : positive('--duration', v.duration);
  switch (command) {
    case undefined:
      return runInteractive({ name: v.name, phone, hangupKey: hangupKey(v['hangup-key']) });
    case 'users':
      noMore(rest);
      return users({ phone, name: v.name }, report);
    case 'call':
      if (rest.length !== 1) throw new UsageError('call: name whom to call, e.g. parley call bob');
      return call({ phone, name: v.name, to: rest[0], durationS }, report);
    case 'answer':
      noMore(rest);
      if (!v.auto) throw new UsageError('answer: only --auto is scriptable; to answer by hand run parley --name NAME');
      if (!v.name) throw new UsageError('answer: give --name so others can call you');
      return answer(
        {
          phone,
          name: v.name,
          durationS,
          maxCalls: v['max-calls'] === undefined ? undefined : positiveInteger('--max-calls', v['max-calls']),
        },
        report,
      );
    case 'doctor':
      noMore(rest);
      return doctor(report);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function phoneOptions(v: Values, scripted: boolean): PhoneOptions {
  const frame = Number(v.frame);
  if (frame !== 10 && frame !== 20 && frame !== 40) throw new UsageError(`--frame: 10, 20 or 40, not ${v.frame}`);
  if (v.codec !== undefined && v.codec !== 'opus' && v.codec !== 'pcm') throw new UsageError(`--codec: opus or pcm, not ${v.codec}`);
  const udpPort = Number(v.port);
  if (!Number.isInteger(udpPort) || udpPort < 0 || udpPort > 65535) throw new UsageError(`--port: not a port number: ${v.port}`);
  return {
    server: serverAddress(v.server ?? process.env.PARLEY_SERVER ?? `127.0.0.1:${DEFAULT_PORT}`),
    udpPort,
    input: v.input ?? (scripted ? 'tone' : 'mic'),
    output: v.output ?? (scripted ? 'null' : 'speaker'),
    codecs: v.codec ? [v.codec] : ['opus', 'pcm'],
    frameMs: frame,
  };
}

/** host:port, host, :port or [v6]:port. */
export function serverAddress(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(spec.trim());
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`--server: expected HOST:PORT, not "${spec}"`);
  return { host: host || '127.0.0.1', port };
}

function hangupKey(k: string): string {
  if (k.length !== 1 || !/[a-z]/i.test(k) || 'mM'.includes(k)) throw new UsageError(`--hangup-key: one letter other than m, not "${k}"`);
  return k;
}

function positive(flag: string, s: string): number {
  const n = Number(s);
  if (!(n > 0)) throw new UsageError(`${flag}: a positive number, not "${s}"`);
  return n;
}

function positiveInteger(flag: string, s: string): number {
  const n = positive(flag, s);
  if (!Number.isInteger(n)) throw new UsageError(`${flag}: a whole number, not "${s}"`);
  return n;
}

function noMore(rest: string[]): void {
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
}
