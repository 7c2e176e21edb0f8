/**
 * `parley devices` as a real process: a private PulseAudio daemon's sinks and sources, or ALSA's
 * devices where no sound server runs; and a device name that is not there, refused in words.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import type { AudioDevice } from '../../src/audio';
import { EXIT } from '../../src/client/exit-codes';
import { testServer } from '../helpers/signaling';
import { clientEnv, describePulse, deskHeadsetSine, PulseDaemon } from '../helpers/pulse';
import { run } from './helpers/parley';

jest.setTimeout(60_000);

let dir: string;
let alsaOnly: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-devices-'));
  const pcm = (name: string, description: string) => `pcm.${name} {\n  type null\n  hint { show on description "${description}" }\n}\n`;
  writeFileSync(path.join(dir, 'asound.conf'), pcm('!default', 'Nothing at all') + pcm('desk', 'Desk speakers'));
  alsaOnly = { ALSA_CONFIG_PATH: path.join(dir, 'asound.conf'), PULSE_SERVER: `unix:${path.join(dir, 'no-server')}` };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('with ALSA alone', () => {
  it('lists the ALSA devices, the default marked, and says no sound server answered', async () => {
    const r = run(['devices'], { env: alsaOnly });
    expect(await r.exited).toBe(EXIT.ok);
    expect(r.out()).toMatch(/^ALSA playback \(--output speaker:NAME\):\n\* default {2}Nothing at all \(default\)\n {2}desk {5}Desk speakers\n/m);
    expect(r.out()).toMatch(/^ALSA capture \(--input mic:NAME\):\n\* default/m);
    expect(r.out()).toMatch(/^PulseAudio: no server answered \(.+\)$/m);
    expect(r.out()).not.toContain('PulseAudio sinks');
    expect(r.err()).toBe('');
  });

  it('--json gives the same list as one event', async () => {
    const r = run(['devices', '--json'], { env: alsaOnly });
    expect(await r.exited).toBe(EXIT.ok);
    const lines = r.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]) as { event: string; devices: AudioDevice[]; notes: string[] };
    expect(event.event).toBe('devices');
    expect(event.devices).toContainEqual({ role: 'playback', system: 'alsa', name: 'desk', description: 'Desk speakers', isDefault: false });
    expect(event.devices.filter((d) => d.isDefault).map((d) => `${d.role} ${d.name}`)).toEqual(['playback default', 'capture default']);
  });

  it('a device that is not there is refused with the list of those that are, before anyone is called', async () => {
    const server: RunningServer = await testServer();
    try {
      const at = ['--server', `127.0.0.1:${server.port}`];
      const call = run(['call', 'bob', '--output', 'speaker:garage', ...at], { env: alsaOnly });
      expect(await call.exited).toBe(EXIT.failed);
      expect(call.err()).toMatch(/no playback device "garage": the playback devices here are default, desk \('parley devices' lists them\)/);
      const answer = run(['answer', '--auto', '--name', 'bob', '--input', 'mic:sox:attic', ...at], { env: alsaOnly });
      expect(await answer.exited).toBe(EXIT.failed);
      expect(answer.err()).toMatch(/no capture device "attic": the capture devices here are default, desk/);
      expect(answer.err()).not.toContain('waiting for calls');
      // A backend of the other side is a usage error, said at once.
      const wrong = run(['call', 'bob', '--output', 'speaker:sox', ...at], { env: alsaOnly });
      expect(await wrong.exited).toBe(EXIT.usage);
      expect(wrong.err()).toMatch(/--output: unknown audio sink "speaker:sox"/);
    } finally {
      await server.close();
    }
  });
});

describePulse('with a PulseAudio server', () => {
  let pulse: PulseDaemon;
  beforeAll(async () => {
    pulse = await PulseDaemon.start();
    deskHeadsetSine(pulse);
  });
  afterAll(() => pulse?.stop());

  it('lists its sinks and sources with the defaults marked', async () => {
    const r = run(['devices'], { env: clientEnv(pulse) });
    expect(await r.exited).toBe(EXIT.ok);
    const out = r.out();
    const sinks = /^PulseAudio sinks \(--output speaker:NAME\), from pulseaudio [\d.]+:\n((?:.+\n)+)/m.exec(out)?.[1] ?? '';
    expect(sinks).toMatch(/^ {2}desk +Desk$/m);
    expect(sinks).toMatch(/^\* headset +Headset \(default\)$/m);
    const sources = /^PulseAudio sources \(--input mic:NAME\), from pulseaudio [\d.]+:\n((?:.+\n)+)/m.exec(out)?.[1] ?? '';
    expect(sources).toMatch(/^\* sine +Sine source at 440 Hz \(default\)$/m);
    expect(sources).toMatch(/^ {2}desk\.monitor +Monitor of Desk \(monitor: what the sink plays\)$/m);
    expect(out).not.toMatch(/no server answered/);

    const json = run(['devices', '--json'], { env: clientEnv(pulse) });
    expect(await json.exited).toBe(EXIT.ok);
    const { devices } = JSON.parse(json.out()) as { devices: AudioDevice[] };
    expect(devices.filter((d) => d.system === 'pulse' && d.isDefault).map((d) => d.name).sort()).toEqual(['headset', 'sine']);
  });
});
