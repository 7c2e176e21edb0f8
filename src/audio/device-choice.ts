/**
 * From a speaker or mic spec to what opens it: the backend, the device it is given and the
 * environment it runs in. A PulseAudio sink or source reaches an ALSA-based backend through
 * ALSA's pulse plugin, with PULSE_SINK / PULSE_SOURCE saying which one; the pulse backend is
 * given the name itself. A name that exists nowhere is refused with the list of those that do.
 */
import { deviceSpec, parseDeviceSpec, type DeviceRole } from './device-spec';
import { listAudioDevices, type AudioDevice, type DeviceList } from './device-list';
import { AudioError } from './errors';

export interface DeviceChoice {
  role: DeviceRole;
  /** The backend spec to build it with (createSink/createSource), e.g. "speaker:aplay". */
  spec: string;
  backend: string;
  /** The device option for the backend; undefined is the backend's default. */
  device?: string;
  /** The environment the backend runs in. */
  env: NodeJS.ProcessEnv;
  /** The device as the user named it (a PulseAudio sink, an ALSA PCM), undefined for the default. */
  name?: string;
  system?: AudioDevice['system'];
  /** How the call screen and `parley doctor` name it, e.g. `aplay → PulseAudio sink "ear" (Ear)`. */
  label: string;
}

const PULSE_VAR = { speaker: 'PULSE_SINK', mic: 'PULSE_SOURCE' } as const;
const ROLE_OF = { speaker: 'playback', mic: 'capture' } as const;

/**
 * Resolves a speaker or mic spec; undefined for any other spec (tone, null, files). A spec
 * without a device name is the backend's default and is not looked up; one with a name lists
 * the devices (unless `list` is given) and rejects with an `output_device`/`input_device`
 * AudioError naming the ones there are when it is not among them.
 */
export async function chooseDevice(spec: string, opts: { env?: NodeJS.ProcessEnv; list?: DeviceList } = {}): Promise<DeviceChoice | undefined> {
  const parsed = parseDeviceSpec(spec);
  if (!parsed) return undefined;
  const env = opts.env ?? process.env;
  const { role, backend, device: name } = parsed;
  if (name === undefined) return { role, spec: deviceSpec(role, backend), backend, env, label: `${backend} → the default device` };
  const list = opts.list ?? (await listAudioDevices({ env }));
  const candidates = list.devices.filter((d) => d.role === ROLE_OF[role]);
  const pulse = candidates.find((d) => d.system === 'pulse' && d.name === name);
  const base = { role, backend, name, env };
  if (pulse) {
    const description = pulse.description ? ` (${pulse.description})` : '';
    const label = `${backend} → PulseAudio ${role === 'speaker' ? 'sink' : 'source'} "${name}"${description}`;
    // Through ALSA, the pulse plugin's PCM ("pulse" where the system defines it, else the
    // default, which then must lead to the server) plays to the sink named in the environment.
    const device = backend === 'pulse' ? name : candidates.some((d) => d.system === 'alsa' && d.name === 'pulse') ? 'pulse' : 'default';
    return { ...base, spec: deviceSpec(role, backend), device, env: { ...env, [PULSE_VAR[role]]: name }, system: 'pulse', label };
  }
  const alsa = candidates.find((d) => d.system === 'alsa' && d.name === name);
  // An ALSA name with arguments (hw:1,0, plughw:CARD=PCH,DEV=0) is not always among the hints:
  // ALSA judges it when it opens.
  if (backend !== 'pulse' && (alsa || name.includes(':'))) {
    const label = `${backend} → ALSA "${name}"${alsa?.description ? ` (${alsa.description})` : ''}`;
    return { ...base, spec: deviceSpec(role, backend), device: name, system: 'alsa', label };
  }
  throw new AudioError(role === 'speaker' ? 'output_device' : 'input_device', unknownDevice(role, name, candidates, list.notes));
}

/**
 * The same backend on the system's default device: what a failed device falls back to. The
 * sound-server device a choice named is dropped from the environment; one the user's own
 * environment names stays (it is their default).
 */
export function defaultDevice(choice: DeviceChoice): DeviceChoice {
  const { role, backend } = choice;
  const env = { ...choice.env };
  if (choice.system === 'pulse') delete env[PULSE_VAR[role]];
  return { role, spec: deviceSpec(role, backend), backend, env, label: `${backend} → the default device` };
}

function unknownDevice(role: DeviceRole, name: string, candidates: AudioDevice[], notes: string[]): string {
  const what = role === 'speaker' ? 'playback' : 'capture';
  const names = [...new Set(candidates.map((d) => d.name))];
  const there = names.length > 0 ? `the ${what} devices here are ${names.join(', ')}` : `no ${what} devices were found${notes.length ? ` (${notes.join('; ')})` : ''}`;
  return `no ${what} device "${name}": ${there} ('parley devices' lists them)`;
}
