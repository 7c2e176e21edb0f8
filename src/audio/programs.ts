/** Where the device backends' programs are, and what to install when they are not. */
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
  pulse: 'apt-get install libpulse-dev, then npm rebuild parley-voice',
} as const;
