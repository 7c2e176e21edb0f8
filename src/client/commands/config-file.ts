/**
 * The config file: settings a person keeps (name, server, devices, keys) as one JSON object at
 * $PARLEY_CONFIG, else $XDG_CONFIG_HOME/parley/config.json, else ~/.config/parley/config.json.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSettingKey, SETTINGS, SettingError, type SettingKey } from './settings';

/** The most a config file may hold: anything larger is not one. */
const MAX_CONFIG_BYTES = 64 * 1024;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PARLEY_CONFIG) return env.PARLEY_CONFIG;
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'parley', 'config.json');
}

/**
 * The folder of the config file: the identity key and known_peers.json live beside it, so
 * PARLEY_CONFIG=/x/config.json keeps them in /x.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.dirname(configPath(env));
}

/** The file's settings as strings, checked like the command line's; none when there is no file. */
export function readConfig(file: string): Partial<Record<SettingKey, string>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SettingError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new SettingError(`the config file ${file} is over ${MAX_CONFIG_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SettingError(`the config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SettingError(`the config file ${file} must hold one JSON object, e.g. {"name": "alice"}`);
  }
  const out: Partial<Record<SettingKey, string>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!isSettingKey(key)) throw new SettingError(`the config file ${file} has an unknown setting "${key}"`);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new SettingError(`the config file ${file}: "${key}" must be a string or a number`);
    }
    const text = String(value);
    try {
      SETTINGS[key].parse(text);
    } catch (err) {
      throw new SettingError(`the config file ${file}: ${key}: ${(err as Error).message}`);
    }
    out[key] = text;
  }
  return out;
}

/** Sets (or, with `undefined`, removes) one setting, keeping the others; the write is atomic. */
export function writeConfigValue(file: string, key: SettingKey, value: string | undefined): void {
  const current = readConfig(file);
  if (value === undefined) delete current[key];
  else {
    SETTINGS[key].parse(value);
    current[key] = value;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(current, null, 2) + '\n');
  renameSync(tmp, file);
}
