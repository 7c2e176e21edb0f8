/**
 * The grammar of a device spec: `speaker`, `speaker:BACKEND`, `speaker:NAME`,
 * `speaker:BACKEND:NAME`, and the same with `mic`. NAME is a device (an ALSA PCM such as
 * `hw:1,0`, or a PulseAudio sink or source); a first segment that names a backend is the
 * backend, so a device may never be called like one.
 */
/** Each role's backends, the first being what the plain word (`speaker`, `mic`) means. */
export const BACKENDS = {
  speaker: ['addon', 'aplay'],
  mic: ['arecord', 'sox'],
} as const satisfies Record<string, readonly string[]>;

export type DeviceRole = keyof typeof BACKENDS;

/** Words that are never a device name, whichever role they are given to. */
const RESERVED = new Set(['addon', 'aplay', 'arecord', 'sox', 'pulse']);

export interface DeviceSpec {
  role: DeviceRole;
  backend: string;
  /** Whether the spec named the backend, rather than taking the role's default one. */
  explicitBackend: boolean;
  /** The device the spec names; undefined means the system's default. */
  device?: string;
}

/**
 * Splits a speaker or mic spec; undefined for any other spec (tone, null, a file) and for one
 * that is not a valid device spec (a backend of the other role, an empty device name), which
 * createSink/createSource then refuse as unknown.
 */
export function parseDeviceSpec(spec: string): DeviceSpec | undefined {
  const [role, ...rest] = spec.split(':');
  if (role !== 'speaker' && role !== 'mic') return undefined;
  const backends: readonly string[] = BACKENDS[role];
  const first = rest[0];
  const explicitBackend = first !== undefined && RESERVED.has(first);
  if (explicitBackend && !backends.includes(first)) return undefined;
  const backend = explicitBackend ? first : backends[0];
  const named = explicitBackend ? rest.slice(1) : rest;
  const device = named.join(':');
  if (named.length > 0 && device === '') return undefined;
  return { role, backend, explicitBackend, device: device || undefined };
}

/** The spec of a backend on a device: what `parseDeviceSpec` reads back. */
export function deviceSpec(role: DeviceRole, backend: string, device?: string): string {
  return device ? `${role}:${backend}:${device}` : `${role}:${backend}`;
}
