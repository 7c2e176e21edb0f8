/**
 * `parley devices`: the capture and playback devices here, by name and description, the
 * defaults marked, and the --input/--output spec that picks each.
 */
import { listAudioDevices, type AudioDevice, type DeviceList } from '../../audio';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Reporter } from './reporter';

const GROUPS = [
  { system: 'pulse', role: 'playback', title: 'PulseAudio sinks (--output speaker:NAME)' },
  { system: 'pulse', role: 'capture', title: 'PulseAudio sources (--input mic:NAME)' },
  { system: 'alsa', role: 'playback', title: 'ALSA playback (--output speaker:NAME)' },
  { system: 'alsa', role: 'capture', title: 'ALSA capture (--input mic:NAME)' },
] as const;

/** The listing as lines: a heading per group, "* " before a default, then what could not be asked. */
export function formatDevices(list: DeviceList): string {
  const lines: string[] = [];
  for (const g of GROUPS) {
    const devices = list.devices.filter((d) => d.system === g.system && d.role === g.role);
    if (devices.length === 0) continue;
    const width = Math.min(40, Math.max(...devices.map((d) => d.name.length)));
    const title = g.system === 'pulse' && list.server ? `${g.title}, from ${list.server}` : g.title;
    lines.push(`${title}:`, ...devices.map((d) => deviceLine(d, width)), '');
  }
  if (lines.length === 0) lines.push('No audio devices found.', '');
  lines.push(...list.notes, '* marks a default; files (--input a.wav, --output b.wav), tones and --output null need no device.');
  return lines.join('\n');
}

function deviceLine(d: AudioDevice, width: number): string {
  const tags = [d.isDefault ? 'default' : '', d.monitor ? 'monitor: what the sink plays' : ''].filter(Boolean);
  const description = [d.description, ...(tags.length ? [`(${tags.join(', ')})`] : [])].join(' ');
  return `${d.isDefault ? '*' : ' '} ${d.name.padEnd(width)}  ${description}`.trimEnd();
}

export async function devices(report: Reporter): Promise<ExitCode> {
  const list = await listAudioDevices();
  report.data('devices', { ...list }, formatDevices(list));
  return EXIT.ok;
}
