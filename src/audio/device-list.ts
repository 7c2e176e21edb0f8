/**
 * The capture and playback devices this machine offers, by name and description: ALSA's PCM
 * hints (what `aplay -L` and `arecord -L` print) and, where a PulseAudio or PipeWire server
 * runs, its sinks and sources (`pactl`, as JSON where pactl can, 16.0 and later).
 * Each program is bounded by a timeout: a wedged sound server costs seconds, never a hang.
 */
import { execFile } from 'node:child_process';
import { findExecutable } from './programs';

export interface AudioDevice {
  role: 'playback' | 'capture';
  /** Where the device lives: an ALSA PCM, or a PulseAudio (or PipeWire) sink or source. */
  system: 'alsa' | 'pulse';
  name: string;
  description: string;
  /** ALSA's "default" PCM, or the sound server's default sink or source. */
  isDefault: boolean;
  /** A PulseAudio monitor source: what a sink plays, not a microphone. */
  monitor?: boolean;
}

export interface DeviceList {
  devices: AudioDevice[];
  /** The sound server, when one answered: its name and version, e.g. "pulseaudio 16.1". */
  server?: string;
  /** What could not be asked and why, one line each (e.g. "PulseAudio: no server running"). */
  notes: string[];
}

export interface ListOptions {
  /** Environment of the programs asked (PULSE_SERVER, ALSA_CONFIG_PATH...). */
  env?: NodeJS.ProcessEnv;
  /** How long each program may take. */
  timeoutMs?: number;
}

/** One PulseAudio sink or source as pactl describes it. */
export interface PulseNode {
  name: string;
  description: string;
  monitor: boolean;
}

/** What `pactl info` says of the server. */
export interface PulseInfo {
  server: string;
  defaultSink?: string;
  defaultSource?: string;
}

/**
 * `aplay -L` / `arecord -L`: each hint is a name at the start of a line, its description on
 * the indented lines below (card, device, what it is for).
 */
export function parseAlsaHints(text: string): { name: string; description: string }[] {
  const hints: { name: string; description: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\S/.test(line)) hints.push({ name: line.trim(), description: '' });
    else if (line.trim() && hints.length > 0) {
      const last = hints[hints.length - 1];
      last.description = last.description ? `${last.description}, ${line.trim()}` : line.trim();
    }
  }
  return hints;
}

/** `pactl -f json list sinks|sources`: an array of objects with name, description and properties. */
export function parsePactlJson(text: string): PulseNode[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('pactl: expected a JSON array');
  return parsed.flatMap((n: unknown) => {
    const o = (n ?? {}) as { name?: unknown; description?: unknown; properties?: Record<string, unknown> };
    if (typeof o.name !== 'string') return [];
    const description = typeof o.description === 'string' ? o.description : '';
    return [{ name: o.name, description, monitor: o.properties?.['device.class'] === 'monitor' }];
  });
}

/** `pactl list sinks|sources` in its readable form: "Sink #0" blocks of "Name:", "Description:"... */
export function parsePactlText(text: string): PulseNode[] {
  return text
    .split(/^(?=(?:Sink|Source) #\d+)/m)
    .filter((block) => /^(?:Sink|Source) #\d+/.test(block))
    .flatMap((block) => {
      const name = /^\s*Name: (.*)$/m.exec(block)?.[1]?.trim();
      if (!name) return [];
      const description = /^\s*Description: (.*)$/m.exec(block)?.[1]?.trim() ?? '';
      return [{ name, description, monitor: /device\.class = "monitor"/.test(block) }];
    });
}

/** `pactl -f json info` or the readable `pactl info`. */
export function parsePactlInfo(text: string): PulseInfo {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const o = JSON.parse(trimmed) as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === 'string' && o[k] ? (o[k] as string) : undefined);
    return { server: [str('server_name'), str('server_version')].filter(Boolean).join(' '), defaultSink: str('default_sink_name'), defaultSource: str('default_source_name') };
  }
  const field = (label: string) => new RegExp(`^${label}: (.+)$`, 'm').exec(text)?.[1]?.trim();
  return { server: [field('Server Name'), field('Server Version')].filter(Boolean).join(' '), defaultSink: field('Default Sink'), defaultSource: field('Default Source') };
}

interface Ran {
  ok: boolean;
  out: string;
  err: string;
}

function runProgram(program: string, args: string[], opts: ListOptions): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(program, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 3000, maxBuffer: 4 << 20 }, (error, out, err) => {
      const timedOut = error && (error as { killed?: boolean }).killed ? `did not answer within ${opts.timeoutMs ?? 3000} ms` : '';
      resolve({ ok: !error, out: String(out), err: timedOut || String(err).trim() || (error?.message ?? '') });
    });
  });
}

/** The sound server's sinks and sources, or why there are none. */
async function listPulse(opts: ListOptions): Promise<{ devices: AudioDevice[]; server?: string; note?: string }> {
  if (!findExecutable('pactl', opts.env?.PATH ?? process.env.PATH)) return { devices: [], note: 'PulseAudio: pactl is not installed (apt-get install pulseaudio-utils)' };
  let json = true;
  let info = await runProgram('pactl', ['-f', 'json', 'info'], opts);
  // pactl before 16.0 knows no -f: ask again in the readable form.
  if (!info.ok && /format|unrecognized|invalid option/i.test(info.err)) {
    json = false;
    info = await runProgram('pactl', ['info'], opts);
  }
  if (!info.ok) return { devices: [], note: `PulseAudio: no server answered (${firstLine(info.err)})` };
  const lists = await Promise.all(
    (['sinks', 'sources'] as const).map((kind) => runProgram('pactl', json ? ['-f', 'json', 'list', kind] : ['list', kind], opts)),
  );
  try {
    const about = parsePactlInfo(info.out);
    const [sinks, sources] = lists.map((r) => {
      if (!r.ok) throw new Error(firstLine(r.err));
      return json ? parsePactlJson(r.out) : parsePactlText(r.out);
    });
    const devices: AudioDevice[] = [
      ...sinks.map((n) => ({ role: 'playback' as const, system: 'pulse' as const, name: n.name, description: n.description, isDefault: n.name === about.defaultSink })),
      ...sources.map((n) => ({
        role: 'capture' as const,
        system: 'pulse' as const,
        name: n.name,
        description: n.description,
        isDefault: n.name === about.defaultSource,
        ...(n.monitor ? { monitor: true } : {}),
      })),
    ];
    return { devices, server: about.server || 'PulseAudio' };
  } catch (err) {
    return { devices: [], note: `PulseAudio: could not read pactl's answer (${(err as Error).message})` };
  }
}

async function listAlsa(role: AudioDevice['role'], opts: ListOptions): Promise<{ devices: AudioDevice[]; note?: string }> {
  const program = role === 'playback' ? 'aplay' : 'arecord';
  if (!findExecutable(program, opts.env?.PATH ?? process.env.PATH)) return { devices: [], note: `ALSA: ${program} is not installed (apt-get install alsa-utils)` };
  const r = await runProgram(program, ['-L'], opts);
  if (!r.ok) return { devices: [], note: `ALSA: ${program} -L failed (${firstLine(r.err)})` };
  const hints = parseAlsaHints(r.out);
  // ALSA's "default" always opens something, but is listed only when its configuration gives
  // it a hint (not when it leads to a sound server that is not running, for one).
  if (!hints.some((h) => h.name === 'default')) hints.unshift({ name: 'default', description: "ALSA's default device" });
  const devices = hints.map((h) => ({ role, system: 'alsa' as const, name: h.name, description: h.description, isDefault: h.name === 'default' }));
  return { devices };
}

/** Lists every device the sound server and ALSA offer; what could not be asked is in `notes`. */
export async function listAudioDevices(opts: ListOptions = {}): Promise<DeviceList> {
  const [pulse, playback, capture] = await Promise.all([listPulse(opts), listAlsa('playback', opts), listAlsa('capture', opts)]);
  const notes = [pulse.note, playback.note, capture.note].filter((n): n is string => n !== undefined);
  return { devices: [...pulse.devices, ...playback.devices, ...capture.devices], ...(pulse.server ? { server: pulse.server } : {}), notes };
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((l) => l.trim())?.trim() ?? 'no reason given';
}
