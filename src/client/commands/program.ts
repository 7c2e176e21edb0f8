/**
 * The `parley` command line: the interactive client and its scripted commands, each with its
 * own options (an option a command does not take is refused), values from the command line,
 * the environment, the config file or the default — in that order — and one-line usage errors.
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, type ExitCode } from '../exit-codes';
import { configPath } from './config-file';
import { SETTINGS, SettingError, type SettingKey, type SettingValues } from './settings';

/** A command line that is wrong in a way commander cannot see (a missing --name, a bad spec). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command = 'parley',
  ) {
    super(message);
  }
}

export type Source = 'cli' | 'env' | 'config' | 'default';

/** What an action gets: its settings with where each came from, and its own flags. */
export interface Invocation {
  values: SettingValues;
  sources: Partial<Record<SettingKey, Source>>;
  flags: Record<string, unknown>;
  /** `parley call`, for hints in messages. */
  command: string;
}

export type Action = (inv: Invocation, args: string[]) => Promise<ExitCode>;

export interface CommandSpec {
  name: string;
  args?: string;
  description: string;
  settings: readonly SettingKey[];
  /** Flags of this command alone: commander flag strings and their help. */
  flags?: readonly [string, string][];
  action: Action;
  /** Said after the options in --help. */
  help?: string;
}

const ROOT_HELP = (file: string) => `
Commands run scripted: nothing waits on a keyboard, and standard output holds only data (with
--json, one JSON event a line). Without a command, parley is the interactive client.

Values come from the command line, else the environment (PARLEY_NAME, ...), else the config
file (${file}), else the default; 'parley config' shows each one and where it came from.

Exit codes: 0 ok, 1 audio or other failure, 2 usage, 3 server unreachable, 4 name refused,
  5 not found, 6 declined, 7 busy, 8 no answer, 9 no common codec or no network path,
  10 connection lost, 11 rate limited, 12 the peer's identity key changed (or is forged).
  Everything is in docs/cli.md.`;

/**
 * Builds the program. `config` holds the config file's values; the chosen action's promise is
 * handed to `ran`.
 */
export function buildProgram(opts: {
  version: string;
  config: Partial<Record<SettingKey, string>>;
  interactive: CommandSpec;
  commands: CommandSpec[];
  ran: (result: Promise<ExitCode>) => void;
}): Command {
  const program = new Command('parley');
  program
    .usage('[options]            the interactive client\n       parley <command> [options]  one scripted command')
    .description('Voice calls from the terminal.')
    .enablePositionalOptions()
    .helpCommand(true)
    .option('-V, --version', 'print the version (with --verbose, the doctor report too)')
    .addArgument(new Argument('[command...]').argOptional())
    .addHelpText('after', ROOT_HELP(configPath()));
  configure(program, 'parley');
  addSettings(program, opts.interactive.settings, opts.config);
  addFlags(program, opts.interactive.flags);
  program.action((unknown: string[]) => {
    if (unknown.length > 0) return (program as unknown as { unknownCommand(): void }).unknownCommand();
    opts.ran(opts.interactive.action(invocation(program, program, opts.interactive.settings, 'parley'), []));
  });

  for (const spec of opts.commands) {
    const full = `parley ${spec.name}`;
    const cmd = program.command(spec.name).description(spec.description);
    if (spec.args) cmd.arguments(spec.args);
    configure(cmd, full);
    addSettings(cmd, spec.settings, opts.config);
    addFlags(cmd, spec.flags);
    if (spec.help) cmd.addHelpText('after', `\n${spec.help}`);
    cmd.action((...params: unknown[]) => {
      const args = params.slice(0, cmd.registeredArguments.length).filter((a): a is string => typeof a === 'string');
      opts.ran(spec.action(invocation(program, cmd, spec.settings, full), args));
    });
  }
  return program;
}

/** The exit code and the one-line message (if any) for an error commander raised. */
export function commanderExit(err: CommanderError): ExitCode {
  return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
}

/** A usage error as one line and a hint: no wall of usage text. */
export function usageLine(message: string, command: string): string {
  const text = message.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)').trim();
  return `parley: ${text}\nsee '${command} --help'\n`;
}

function configure(cmd: Command, full: string): void {
  cmd.exitOverride();
  cmd.showSuggestionAfterError(true);
  cmd.configureOutput({ outputError: (message, write) => write(usageLine(message, full)) });
}

function addSettings(cmd: Command, keys: readonly SettingKey[], config: Partial<Record<SettingKey, string>>): void {
  for (const key of keys) {
    const s = SETTINGS[key];
    const help = s.defaultNote ? `${s.help} (default: ${s.defaultNote})` : s.help;
    const option = new Option(s.flags, help).env(s.env).argParser((v: string) => {
      try {
        return s.parse(v);
      } catch (err) {
        if (err instanceof SettingError) throw new InvalidArgumentError(err.message);
        throw err;
      }
    });
    if (s.default !== undefined) option.default(s.parse(s.default), s.default);
    cmd.addOption(option);
    // Set after the default, so the config file's value wins over it (and env and flags over both).
    if (config[key] !== undefined) cmd.setOptionValueWithSource(key, s.parse(config[key] as string), 'config');
  }
}

function addFlags(cmd: Command, flags: readonly [string, string][] = []): void {
  for (const [f, help] of flags) cmd.option(f, help);
}

/**
 * The settings an action runs with. Options given before the command word (`parley --server X
 * users`) land on the root; they count for the command when it takes them and are refused when
 * it does not.
 */
function invocation(program: Command, cmd: Command, keys: readonly SettingKey[], full: string): Invocation {
  const values: Record<string, unknown> = {};
  const sources: Partial<Record<SettingKey, Source>> = {};
  for (const key of keys) {
    values[key] = cmd.getOptionValue(key);
    const source = cmd.getOptionValueSource(key);
    if (source) sources[key] = source as Source;
  }
  if (cmd !== program) {
    for (const option of program.options) {
      const key = option.attributeName();
      if (program.getOptionValueSource(key) !== 'cli') continue;
      if (!(keys as readonly string[]).includes(key)) throw new UsageError(`${option.long} does not apply to '${full}'`, full);
      if (sources[key as SettingKey] !== 'cli') {
        values[key] = program.getOptionValue(key);
        sources[key as SettingKey] = 'cli';
      }
    }
  }
  const flags = { ...cmd.opts() };
  for (const key of keys) delete flags[key];
  return { values: values as SettingValues, sources, flags, command: full };
}
