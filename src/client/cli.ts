/** `parley`: the interactive client, or one scripted command (users, call, answer, devices, doctor, config). */
import { CommanderError } from 'commander';
import { createSink, createSource } from '../audio';
import { PROTOCOL_VERSION } from '../protocol';
import { VERSION } from '../version';
import { answer } from './commands/answer';
import { call } from './commands/call';
import { room } from './commands/room';
import { configCommand } from './commands/config';
import { readConfig, configDir, configPath } from './commands/config-file';
import { loadOrCreateIdentity } from './identity-file';
import { knownPeersIn } from './known-peers';
import { devices } from './commands/devices';
import { doctor } from './commands/doctor';
import { buildProgram, commanderExit, usageLine, UsageError, type CommandSpec, type Invocation } from './commands/program';
import { Reporter } from './commands/reporter';
import { ScriptExit } from './commands/session';
import { SettingError, SETTINGS, type SettingKey } from './commands/settings';
import { readFileSync } from 'node:fs';
import { users } from './commands/users';
import { EXIT, type ExitCode } from './exit-codes';
import type { PhoneOptions } from './phone';
import { runInteractive } from './ui/app';

/** Reaching and trusting the server. */
const SERVER: readonly SettingKey[] = ['server', 'tls', 'ca', 'pin', 'reconnect'];
const CALLING: readonly SettingKey[] = ['name', ...SERVER, 'port', 'stun', 'relay', 'input', 'output', 'codec', 'frame', 'aec', 'ns', 'agc', 'dtx'];
const JSON_FLAG: [string, string] = ['--json', 'one JSON event per line on standard output'];
const VERBOSE_FLAG: [string, string] = ['--verbose', "show devices' own error text in full"];
const ACCEPT_KEY_FLAG: [string, string] = ['--accept-new-key', "take a peer's changed identity key (and remember it) instead of refusing the call"];

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
  const code = await run(argv);
  // Leave once stdout has drained; a stray timer or socket must not keep the process alive.
  process.stdout.write('', () => process.exit(code));
}

/** Runs one command line to its exit code; every way it can go wrong is said on stderr here. */
export async function run(argv: string[]): Promise<ExitCode> {
  let result: Promise<ExitCode> | undefined;
  try {
    const config = readConfig(configPath());
    const program = buildProgram({ version: VERSION, config, interactive, commands, ran: (r) => (result = r) });
    await program.parseAsync(argv, { from: 'user' });
    return await (result ?? Promise.resolve(EXIT.ok));
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err);
    if (err instanceof UsageError) {
      process.stderr.write(usageLine(err.message, err.command));
      return EXIT.usage;
    }
    if (err instanceof SettingError) {
      process.stderr.write(`parley: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ScriptExit) return err.code;
    process.stderr.write(`parley: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}

const interactive: CommandSpec = {
  name: '',
  description: 'the interactive client',
  settings: [...CALLING, 'hangupKey'],
  flags: [VERBOSE_FLAG, ACCEPT_KEY_FLAG],
  action: async (inv) => {
    if (inv.flags.version) {
      process.stdout.write(`parley ${VERSION} (protocol v${PROTOCOL_VERSION}, node ${process.versions.node})\n`);
      return inv.flags.verbose ? doctor(new Reporter(false, true), { verbose: true }) : EXIT.ok;
    }
    const phone = callingOptions(inv, false);
    return runInteractive({ name: inv.values.name, phone, hangupKey: inv.values.hangupKey ?? 'h' });
  },
};

const commands: CommandSpec[] = [
  {
    name: 'users',
    description: 'list who is online (name<TAB>status a line)',
    settings: ['name', ...SERVER],
    flags: [JSON_FLAG],
    action: (inv) => users({ phone: phoneOptions(inv, true), name: inv.values.name }, reporter(inv)),
  },
  {
    name: 'call',
    args: '<name>',
    description: 'call NAME and talk (for --duration seconds, or until they hang up)',
    settings: CALLING,
    flags: [['--duration <seconds>', 'hang up after this many seconds'], ACCEPT_KEY_FLAG, JSON_FLAG, VERBOSE_FLAG],
    action: (inv, [to]) =>
      call({ phone: callingOptions(inv, true), name: inv.values.name, to, durationS: positive(inv, '--duration', inv.flags.duration) }, reporter(inv)),
  },
  {
    name: 'answer',
    description: 'wait under --name and accept every call',
    settings: CALLING,
    flags: [
      ['--auto', 'accept every call (required: answering by hand is the interactive client)'],
      ['--max-calls <n>', 'exit after this many calls'],
      ['--duration <seconds>', 'hang up each call after this many seconds'],
      ACCEPT_KEY_FLAG,
      JSON_FLAG,
      VERBOSE_FLAG,
    ],
    help: 'With --output x.wav, the 2nd call records to x-2.wav, the 3rd to x-3.wav, and so on.',
    action: async (inv) => {
      if (!inv.flags.auto) throw new UsageError('answer: only --auto is scriptable; to answer by hand run parley --name NAME', inv.command);
      if (!inv.values.name) throw new UsageError(`answer: give --name (or ${SETTINGS.name.env}, or name in the config file)`, inv.command);
      const maxCalls = inv.flags.maxCalls === undefined ? undefined : positive(inv, '--max-calls', inv.flags.maxCalls, true);
      const durationS = positive(inv, '--duration', inv.flags.duration);
      return answer({ phone: callingOptions(inv, true), name: inv.values.name, maxCalls, durationS }, reporter(inv));
    },
  },
  {
    name: 'room',
    args: '<action> [room]',
    description: 'room create [ROOM] or room join ROOM: be in a room, hearing everyone in it (for --duration seconds, or until stopped)',
    settings: CALLING,
    flags: [
      ['--start-at <n>', 'as the owner, start the session once this many members are in'],
      ['--duration <seconds>', 'leave after this many seconds'],
      ACCEPT_KEY_FLAG,
      JSON_FLAG,
      VERBOSE_FLAG,
    ],
    help: 'Joining a room that does not exist creates it, with you as its owner. Without ROOM, create mints a readable id.',
    action: async (inv, [action, id]) => {
      if (action !== 'create' && action !== 'join') throw new UsageError(`room: the action is create or join, not "${action}"`, inv.command);
      if (action === 'join' && id === undefined) throw new UsageError('room join: give the room id', inv.command);
      if (!inv.values.name) throw new UsageError(`room: give --name (or ${SETTINGS.name.env}, or name in the config file)`, inv.command);
      const startAt = inv.flags.startAt === undefined ? undefined : positive(inv, '--start-at', inv.flags.startAt, true);
      const durationS = positive(inv, '--duration', inv.flags.duration);
      return room({ phone: callingOptions(inv, true), name: inv.values.name, how: action, room: id, startAt, durationS }, reporter(inv));
    },
  },
  {
    name: 'devices',
    description: 'list the capture and playback devices here (--input mic:NAME, --output speaker:NAME)',
    settings: [],
    flags: [JSON_FLAG],
    action: (inv) => devices(reporter(inv)),
  },
  {
    name: 'doctor',
    description: 'open each codec and audio device for real, say what works here and what calls would use',
    settings: ['input', 'output'],
    flags: [JSON_FLAG, VERBOSE_FLAG],
    action: (inv) => doctor(reporter(inv), { strict: true, verbose: Boolean(inv.flags.verbose), input: inv.values.input, output: inv.values.output }),
  },
  {
    name: 'config',
    args: '[action] [key] [value]',
    description: 'show every setting and where it came from; config set KEY VALUE, config unset KEY, config path',
    settings: [],
    flags: [JSON_FLAG],
    action: async (inv, [action, key, value]) => configCommand(action, key, value, reporter(inv)),
  },
];

function reporter(inv: Invocation): Reporter {
  return new Reporter(Boolean(inv.flags.json), Boolean(inv.flags.verbose));
}

/**
 * The phone's options, the input and output checked first: an unknown spec is a usage error
 * before anything is sent.
 */
function phoneOptions(inv: Invocation, scripted: boolean): PhoneOptions {
  const v = inv.values;
  const input = v.input ?? (scripted ? 'tone' : 'mic');
  const output = v.output ?? (scripted ? 'null' : 'speaker');
  checkSpec(inv, '--input', () => createSource(input));
  checkSpec(inv, '--output', () => createSink(output));
  return {
    server: v.server ?? { host: '127.0.0.1', port: 7100 },
    tls: tlsOptions(inv),
    reconnect: { giveUpMs: (v.reconnect ?? 120) * 1000 },
    udpPort: v.port ?? 0,
    stun: v.stun,
    relay: v.relay,
    input,
    output,
    codecs: v.codec ? [v.codec] : ['opus', 'pcm'],
    frameMs: v.frame ?? 20,
    voice: { aec: v.aec, ns: v.ns, agc: v.agc, dtx: v.dtx },
  };
}

/** A calling command's options: the phone's, with this user's identity key and known peers. */
function callingOptions(inv: Invocation, scripted: boolean): PhoneOptions {
  const dir = configDir();
  return {
    ...phoneOptions(inv, scripted),
    identity: loadOrCreateIdentity(dir).identity,
    knownPeers: knownPeersIn(dir, (err) => process.stderr.write(`parley: cannot remember the peer's identity key: ${err.message}\n`)),
    acceptNewKey: Boolean(inv.flags.acceptNewKey),
  };
}

/** TLS when asked for by --tls, --ca or --pin; the CA file is read now, so a missing one is a usage error. */
function tlsOptions(inv: Invocation): PhoneOptions['tls'] {
  const { tls, ca, pin } = inv.values;
  if (!tls && ca === undefined && pin === undefined) return undefined;
  let pem: Buffer | undefined;
  if (ca !== undefined) {
    try {
      pem = readFileSync(ca);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, inv.command);
    }
  }
  return { ca: pem, pin };
}

function checkSpec(inv: Invocation, flag: string, make: () => unknown): void {
  try {
    make();
  } catch (err) {
    if ((err as { code?: string }).code === 'bad_spec') throw new UsageError(`${flag}: ${(err as Error).message}`, inv.command);
    throw err;
  }
}

function positive(inv: Invocation, flag: string, value: unknown, whole = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (whole && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: a positive ${whole ? 'whole number' : 'number'}, not "${String(value)}"`, inv.command);
  }
  return n;
}
