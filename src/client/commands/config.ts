/** `parley config`: every setting, its value and where it came from; `set`, `unset` and `path`. */
import { Command } from 'commander';
import { EXIT, type ExitCode } from '../exit-codes';
import { configPath, readConfig, writeConfigValue } from './config-file';
import { UsageError, type Source } from './program';
import type { Reporter } from './reporter';
import { isSettingKey, SETTING_KEYS, SETTINGS, type SettingKey } from './settings';

export function configCommand(action: string | undefined, key: string | undefined, value: string | undefined, report: Reporter): ExitCode {
  const file = configPath();
  switch (action ?? 'show') {
    case 'show':
      if (key !== undefined) throw new UsageError('config show takes no more arguments', 'parley config');
      return show(file, report);
    case 'path':
      report.data('config_path', { file }, file);
      return EXIT.ok;
    case 'set':
      if (!key || value === undefined) throw new UsageError('config set KEY VALUE, e.g. parley config set name alice', 'parley config');
      writeConfigValue(file, settingKey(key), value);
      report.event('config_set', { file, key, value }, `${key} = ${value} (in ${file})`);
      return EXIT.ok;
    case 'unset':
      if (!key || value !== undefined) throw new UsageError('config unset KEY, e.g. parley config unset name', 'parley config');
      writeConfigValue(file, settingKey(key), undefined);
      report.event('config_unset', { file, key }, `${key} removed from ${file}`);
      return EXIT.ok;
    default:
      throw new UsageError(`config: show, set, unset or path, not "${action}"`, 'parley config');
  }
}

function settingKey(key: string): SettingKey {
  if (!isSettingKey(key)) throw new UsageError(`no setting "${key}"; the settings are ${SETTING_KEYS.join(', ')}`, 'parley config');
  return key;
}

/** Each setting as it would be for a command run now, with its source, by commander's own precedence. */
function show(file: string, report: Reporter): ExitCode {
  const config = readConfig(file);
  const probe = new Command().exitOverride();
  const rows = SETTING_KEYS.map((key) => {
    const s = SETTINGS[key];
    const opt = probe.createOption(s.flags).env(s.env);
    if (s.default !== undefined) opt.default(s.default);
    probe.addOption(opt);
    if (config[key] !== undefined) probe.setOptionValueWithSource(key, config[key], 'config');
    return key;
  });
  probe.parse([], { from: 'user' });
  const settings = rows.map((key) => {
    const s = SETTINGS[key];
    const raw = probe.getOptionValue(key) as string | undefined;
    const source = (probe.getOptionValueSource(key) ?? 'default') as Source;
    const from = source === 'env' ? s.env : source === 'config' ? file : source === 'default' ? 'default' : source;
    return { key, value: raw ?? null, source, from, note: raw === undefined ? (s.defaultNote ?? 'unset') : undefined };
  });
  const width = Math.max(...settings.map((r) => r.key.length));
  const text = settings
    .map((r) => `${r.key.padEnd(width)}  ${(r.value ?? `(${r.note})`).padEnd(24)}  ${r.from}`)
    .join('\n');
  report.data('config', { file, settings }, `${text}\n\nconfig file: ${file}`);
  return EXIT.ok;
}
