/**
 * Every setting a person sets more than once, as one table: its flag, its environment variable,
 * its config-file key, what it means and how it is checked. The command line, the config file
 * and `parley config` are all drawn from it.
 */
import { isValidName } from '../../protocol';
import { PIN_PATTERN } from '../server-socket';

export const DEFAULT_PORT = 7100;

/** Thrown by a setting's check: the message is one line, said as a usage error. */
export class SettingError extends Error {}

export interface Setting<T> {
  flags: string;
  env: string;
  help: string;
  /** The value when nothing else sets it; `undefined` when it depends on the command. */
  default?: string;
  /** Said instead of the default where the default depends on the command. */
  defaultNote?: string;
  /** Checks and converts a value from any source; throws SettingError. */
  parse(value: string): T;
}

const setting = <T>(s: Setting<T>): Setting<T> => s;

export const SETTINGS = {
  name: setting({
    flags: '--name <name>',
    env: 'PARLEY_NAME',
    help: 'the name to register (1-32 letters, digits, ".", "_", "-")',
    parse: (v) => {
      if (!isValidName(v)) throw new SettingError(`not a valid name: "${v}" (1-32 letters, digits, ".", "_" or "-")`);
      return v;
    },
  }),
  server: setting({
    flags: '--server <host:port>',
    env: 'PARLEY_SERVER',
    help: 'the parley server; HOST alone means port 7100, [v6]:PORT for IPv6',
    default: `127.0.0.1:${DEFAULT_PORT}`,
    parse: serverAddress,
  }),
  tls: setting({
    flags: '--tls',
    env: 'PARLEY_TLS',
    help: "speak TLS to the server, trusting the system's certificate authorities (--ca and --pin imply it)",
    default: 'false',
    parse: (v): boolean => {
      // A bare flag (commander passes no value) or its environment variable set means yes.
      if ((v as string | undefined) === undefined || /^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      throw new SettingError(`true or false, not "${v}"`);
    },
  }),
  ca: setting({
    flags: '--ca <file>',
    env: 'PARLEY_CA',
    help: "TLS: trust this CA or self-signed certificate (PEM file) for the server",
    parse: (v) => {
      if (v.trim() === '') throw new SettingError('--ca needs a file name');
      return v;
    },
  }),
  pin: setting({
    flags: '--pin <sha256/BASE64>',
    env: 'PARLEY_PIN',
    help: "TLS: trust the server whose public key has this SHA-256 (of its SPKI, as curl's --pinnedpubkey), self-signed or not",
    parse: (v) => {
      if (!PIN_PATTERN.test(v.trim())) throw new SettingError(`expected sha256/ and 44 characters of base64, not "${v}"`);
      return v.trim();
    },
  }),
  reconnect: setting({
    flags: '--reconnect <seconds>',
    env: 'PARLEY_RECONNECT',
    help: 'keep trying to get back to the server this long after the connection drops (0: do not); a live call goes on meanwhile',
    default: '120',
    parse: (v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new SettingError(`a number of seconds (0 or more), not "${v}"`);
      return n;
    },
  }),
  port: setting({
    flags: '--port <n>',
    env: 'PARLEY_PORT',
    help: 'local UDP port for audio (0: any free port)',
    default: '0',
    parse: (v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new SettingError(`not a port number: "${v}"`);
      return n;
    },
  }),
  stun: setting({
    flags: '--stun <host:port|off>',
    env: 'PARLEY_STUN',
    help: "where to learn this side's public address (STUN): HOST:PORT (port 3478 if left out), or off",
    defaultNote: "the parley server's UDP port",
    parse: (v): { host: string; port: number } | false => {
      if (v === 'off') return false;
      const m = /^([^:\s[\]]+)(?::(\d+))?$/.exec(v.trim());
      const port = m?.[2] === undefined ? 3478 : Number(m[2]);
      if (!m || port < 1 || port > 65535) throw new SettingError(`expected HOST:PORT or off, not "${v}"`);
      return { host: m[1], port };
    },
  }),
  relay: setting({
    flags: '--relay <auto|off>',
    env: 'PARLEY_RELAY',
    help: "use the TURN relay the server offers when nothing direct works (auto), or never (off)",
    default: 'auto',
    parse: (v): 'auto' | 'off' => {
      if (v !== 'auto' && v !== 'off') throw new SettingError(`expected auto or off, not "${v}"`);
      return v;
    },
  }),
  input: setting({
    flags: '--input <spec>',
    env: 'PARLEY_INPUT',
    help: "mic | mic:arecord | mic:sox | mic:[BACKEND:]NAME ('parley devices') | tone | tone:HZ | silence | FILE.wav",
    defaultNote: 'mic interactively, tone in scripts',
    parse: (v) => v,
  }),
  output: setting({
    flags: '--output <spec>',
    env: 'PARLEY_OUTPUT',
    help: "speaker | speaker:addon | speaker:aplay | speaker:[BACKEND:]NAME ('parley devices') | null | FILE.wav",
    defaultNote: 'speaker interactively, null in scripts',
    parse: (v) => v,
  }),
  codec: setting({
    flags: '--codec <codec>',
    env: 'PARLEY_CODEC',
    help: 'use only this codec: opus or pcm',
    defaultNote: 'opus, falling back to pcm',
    parse: (v) => {
      if (v !== 'opus' && v !== 'pcm') throw new SettingError(`opus or pcm, not "${v}"`);
      return v;
    },
  }),
  frame: setting({
    flags: '--frame <ms>',
    env: 'PARLEY_FRAME',
    help: 'audio frame length in ms: 10, 20 or 40',
    default: '20',
    parse: (v) => {
      const n = Number(v);
      if (n !== 10 && n !== 20 && n !== 40) throw new SettingError(`10, 20 or 40, not "${v}"`);
      return n as 10 | 20 | 40;
    },
  }),
  aec: onOff('--aec <on|off>', 'PARLEY_AEC', 'echo cancellation: take out of the microphone what the speaker plays', 'on for a microphone with a speaker'),
  ns: onOff('--ns <on|off>', 'PARLEY_NS', 'noise suppression on the microphone', 'on for a microphone'),
  agc: onOff('--agc <on|off>', 'PARLEY_AGC', 'automatic gain control: bring speech to a steady level', 'on for a microphone'),
  dtx: onOff('--dtx <on|off>', 'PARLEY_DTX', 'silence suppression: send no audio while nobody speaks, the other side plays comfort noise', 'on for a microphone'),
  hangupKey: setting({
    flags: '--hangup-key <key>',
    env: 'PARLEY_HANGUP_KEY',
    help: 'the key that hangs up a call: one letter other than m',
    default: 'h',
    parse: (v) => {
      if (v.length !== 1 || !/[a-z]/i.test(v) || 'mM'.includes(v)) throw new SettingError(`one letter other than m, not "${v}"`);
      return v;
    },
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** A stage switched on or off; unset, it follows the devices. */
function onOff(flags: string, env: string, help: string, defaultNote: string): Setting<boolean> {
  return setting({
    flags,
    env,
    help,
    defaultNote,
    parse: (v) => {
      if (/^(on|1|true|yes)$/i.test(v)) return true;
      if (/^(off|0|false|no)$/i.test(v)) return false;
      throw new SettingError(`on or off, not "${v}"`);
    },
  });
}
export type SettingValues = { [K in SettingKey]?: ReturnType<(typeof SETTINGS)[K]['parse']> };
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export function isSettingKey(k: string): k is SettingKey {
  return Object.prototype.hasOwnProperty.call(SETTINGS, k);
}

/** host:port, host, :port, [v6]:port or a bare IPv6 address. */
export function serverAddress(spec: string): { host: string; port: number } {
  const bare = spec.trim();
  if ((bare.match(/:/g) ?? []).length > 1 && !bare.includes('[')) {
    if (!/^[0-9a-f:.]+$/i.test(bare)) throw new SettingError(`expected HOST:PORT, not "${spec}"`);
    return { host: bare, port: DEFAULT_PORT };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d+))?$/.exec(spec.trim());
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new SettingError(`expected HOST:PORT, not "${spec}"`);
  return { host: host || '127.0.0.1', port };
}
