/** The devices a person can pick from in the interactive client: a spec and a line to show for each. */
import type { AudioDevice, DeviceList } from '../../audio';

export interface DeviceOption {
  /** What --input / --output would say to pick it, e.g. "speaker:desk". */
  spec: string;
  label: string;
}

export interface DeviceChoices {
  inputs: DeviceOption[];
  outputs: DeviceOption[];
}

/**
 * The system's default first, then each sound-server device, then each ALSA one. ALSA's
 * "default" is the first entry already.
 */
export function deviceChoices(list: DeviceList): DeviceChoices {
  const options = (role: AudioDevice['role'], word: 'mic' | 'speaker'): DeviceOption[] => [
    { spec: word, label: 'the default device' },
    ...list.devices
      .filter((d) => d.role === role && !(d.system === 'alsa' && d.name === 'default'))
      .map((d) => ({ spec: `${word}:${d.name}`, label: optionLabel(d) })),
  ];
  return { inputs: options('capture', 'mic'), outputs: options('playback', 'speaker') };
}

function optionLabel(d: AudioDevice): string {
  const where = d.system === 'pulse' ? 'PulseAudio' : 'ALSA';
  return `${d.description || d.name} (${where}${d.isDefault ? ', default' : ''}${d.monitor ? ', monitor' : ''})`;
}
