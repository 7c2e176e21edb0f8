/**
 * What the machine offers for real audio devices, and what to install when it doesn't.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The executable's absolute path on PATH, or undefined. */
export function findExecutable(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export const INSTALL_HINTS = {
  arecord: 'apt-get install alsa-utils',
  aplay: 'apt-get install alsa-utils',
  sox: 'apt-get install sox libsox-fmt-alsa',
  speaker: 'apt-get install libasound2-dev, then npm install speaker',
  'node-record-lpcm16': 'npm install node-record-lpcm16',
} as const;

export interface DeviceStatus {
  name: 'arecord' | 'sox' | 'aplay' | 'speaker' | 'node-record-lpcm16';
  role: string;
  available: boolean;
  /** Where it was found, or what went wrong loading it. */
  detail: string;
  /** What to install when it is missing. */
  install?: string;
}

function moduleStatus(name: 'speaker' | 'node-record-lpcm16', role: string): DeviceStatus {
  try {
    // Resolved, not loaded: loading the speaker addon probes the default device and aborts
    // the process where there is no sound card.
    return { name, role, available: true, detail: require.resolve(name) };
  } catch {
    return { name, role, available: false, detail: `${name} is not installed`, install: INSTALL_HINTS[name] };
  }
}

function binaryStatus(name: 'arecord' | 'sox' | 'aplay', role: string): DeviceStatus {
  const path = findExecutable(name);
  return path
    ? { name, role, available: true, detail: path }
    : { name, role, available: false, detail: `${name} is not on PATH`, install: INSTALL_HINTS[name] };
}

/** For `parley doctor`: each device backend, whether it is usable, and how to get it if not. */
export function audioDeviceReport(): DeviceStatus[] {
  return [
    binaryStatus('arecord', 'microphone (mic, mic:arecord)'),
    binaryStatus('sox', 'microphone (mic:sox)'),
    moduleStatus('node-record-lpcm16', 'microphone process wrapper'),
    moduleStatus('speaker', 'speaker output (speaker, speaker:addon)'),
    binaryStatus('aplay', 'speaker output (speaker:aplay)'),
  ];
}
