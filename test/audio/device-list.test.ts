/**
 * Device listing and choosing: the parsers against outputs captured from the real programs
 * (test/audio/fixtures: pactl 16.1 of a daemon with sinks "desk" and "headset" and a sine
 * source; aplay/arecord -L of Debian bookworm), then the same programs run for real against a
 * private PulseAudio daemon and against an ALSA configuration with no sound server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AudioError,
  chooseDevice,
  createSink,
  createSource,
  listAudioDevices,
  parseAlsaHints,
  parseDeviceSpec,
  parsePactlJson,
  parsePactlText,
} from '../../src/audio';
import { parsePactlInfo } from '../../src/audio/device-list';
import { clientEnv, describePulse, deskHeadsetSine, PulseDaemon } from '../helpers/pulse';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');

describe('parsing what the programs print', () => {
  it('reads ALSA hints: a name at the start of a line, its description indented below', () => {
    const hints = parseAlsaHints(fixture('aplay-L.txt'));
    expect(hints).toContainEqual({ name: 'null', description: 'Discard all samples (playback) or generate zero samples (capture)' });
    expect(hints).toContainEqual({ name: 'pulse', description: 'PulseAudio Sound Server' });
    expect(hints.every((h) => h.name && !/\s/.test(h.name) && h.description)).toBe(true);
    expect(parseAlsaHints(fixture('arecord-L-nopulse.txt'))).toEqual([
      { name: 'default', description: 'Nothing at all' },
      { name: 'desk', description: 'Desk speakers' },
      { name: 'headset', description: 'USB headset' },
    ]);
    // A sound card's hints run over two lines (card and device, then what it is for).
    const card = 'sysdefault:CARD=PCH\n    HDA Intel PCH, ALC3246 Analog\n    Default Audio Device\nhw:CARD=PCH,DEV=0\n    HDA Intel PCH, ALC3246 Analog\n    Direct hardware device without any conversions\n';
    expect(parseAlsaHints(card)).toEqual([
      { name: 'sysdefault:CARD=PCH', description: 'HDA Intel PCH, ALC3246 Analog, Default Audio Device' },
      { name: 'hw:CARD=PCH,DEV=0', description: 'HDA Intel PCH, ALC3246 Analog, Direct hardware device without any conversions' },
    ]);
    expect(parseAlsaHints('')).toEqual([]);
  });

  it("reads pactl's sinks and sources, as JSON and as text alike", () => {
    const sinks = [
      { name: 'desk', description: 'Desk', monitor: false },
      { name: 'headset', description: 'Headset', monitor: false },
    ];
    const sources = [
      { name: 'desk.monitor', description: 'Monitor of Desk', monitor: true },
      { name: 'headset.monitor', description: 'Monitor of Headset', monitor: true },
      { name: 'sine', description: 'Sine source at 440 Hz', monitor: false },
    ];
    expect(parsePactlJson(fixture('pactl-json-sinks.json'))).toEqual(sinks);
    expect(parsePactlText(fixture('pactl-sinks.txt'))).toEqual(sinks);
    expect(parsePactlJson(fixture('pactl-json-sources.json'))).toEqual(sources);
    expect(parsePactlText(fixture('pactl-sources.txt'))).toEqual(sources);
    const info = { server: 'pulseaudio 16.1', defaultSink: 'headset', defaultSource: 'sine' };
    expect(parsePactlInfo(fixture('pactl-json-info.json'))).toEqual(info);
    expect(parsePactlInfo(fixture('pactl-info.txt'))).toEqual(info);
    expect(parsePactlText('')).toEqual([]);
    expect(() => parsePactlJson('{"not":"a list"}')).toThrow(/JSON array/);
  });
});

describe('device specs', () => {
  it.each([
    ['speaker', { role: 'speaker', backend: 'auto', explicitBackend: false, device: undefined }],
    ['speaker:aplay', { role: 'speaker', backend: 'aplay', explicitBackend: true, device: undefined }],
    ['speaker:desk', { role: 'speaker', backend: 'auto', explicitBackend: false, device: 'desk' }],
    ['speaker:aplay:desk', { role: 'speaker', backend: 'aplay', explicitBackend: true, device: 'desk' }],
    ['speaker:hw:1,0', { role: 'speaker', backend: 'auto', explicitBackend: false, device: 'hw:1,0' }],
    ['speaker:pulse:desk', { role: 'speaker', backend: 'pulse', explicitBackend: true, device: 'desk' }],
    ['speaker:addon', { role: 'speaker', backend: 'addon', explicitBackend: true, device: undefined }],
    ['mic:sox:plughw:CARD=PCH,DEV=0', { role: 'mic', backend: 'sox', explicitBackend: true, device: 'plughw:CARD=PCH,DEV=0' }],
    ['mic:sine', { role: 'mic', backend: 'auto', explicitBackend: false, device: 'sine' }],
  ])('%s', (spec, parsed) => {
    expect(parseDeviceSpec(spec)).toEqual(parsed);
  });

  it('is no device spec for other specs, a backend of the other side or an empty name', () => {
    for (const spec of ['tone', 'null', 'a.wav', 'speakers', 'speaker:sox', 'mic:aplay', 'speaker:', 'mic:arecord:', 'mic:addon:x']) {
      expect(parseDeviceSpec(spec)).toBeUndefined();
    }
    expect(() => createSink('speaker:sox')).toThrow(/^unknown audio sink "speaker:sox" \(expected .*speaker:\[BACKEND:\]NAME/);
    expect(() => createSource('mic:')).toThrow(/^unknown audio source "mic:" \(expected .*mic:\[BACKEND:\]NAME/);
  });

  it('needs no listing for a spec without a device name', async () => {
    expect(await chooseDevice('tone:300')).toBeUndefined();
    const choice = await chooseDevice('mic:sox', { list: { devices: [], notes: [] } });
    expect(choice).toMatchObject({ spec: 'mic:sox', backend: 'sox', label: 'sox → the default device' });
    expect(choice?.device).toBeUndefined();
  });
});

describe('ALSA with no sound server', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-alsa-'));
    const pcm = (name: string, description: string) => `pcm.${name} {\n  type null\n  hint { show on description "${description}" }\n}\n`;
    writeFileSync(path.join(dir, 'asound.conf'), pcm('!default', 'Nothing at all') + pcm('desk', 'Desk speakers') + pcm('headset', 'USB headset'));
    // A server address where none listens: nothing is found, and nothing is started.
    env = { ...process.env, ALSA_CONFIG_PATH: path.join(dir, 'asound.conf'), PULSE_SERVER: `unix:${path.join(dir, 'no-server')}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the ALSA devices both ways, the default marked, and says no server answered', async () => {
    const list = await listAudioDevices({ env });
    for (const role of ['playback', 'capture'] as const) {
      expect(list.devices.filter((d) => d.role === role)).toEqual([
        { role, system: 'alsa', name: 'default', description: 'Nothing at all', isDefault: true },
        { role, system: 'alsa', name: 'desk', description: 'Desk speakers', isDefault: false },
        { role, system: 'alsa', name: 'headset', description: 'USB headset', isDefault: false },
      ]);
    }
    expect(list.server).toBeUndefined();
    expect(list.notes).toEqual([expect.stringMatching(/^PulseAudio: no server answered \(.+\)$/)]);
  });

  it('chooses an ALSA device by name, lets ALSA judge a name with arguments, and refuses one that is not there', async () => {
    const list = await listAudioDevices({ env });
    expect(await chooseDevice('speaker:aplay:desk', { env, list })).toMatchObject({ spec: 'speaker:aplay', device: 'desk', system: 'alsa', label: 'aplay → ALSA "desk" (Desk speakers)' });
    expect(await chooseDevice('mic:hw:3,0', { env, list })).toMatchObject({ spec: 'mic:arecord', device: 'hw:3,0' });
    const err = await chooseDevice('speaker:garage', { env, list }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'output_device' });
    expect((err as Error).message).toBe(`no playback device "garage": the playback devices here are default, desk, headset ('parley devices' lists them)`);
  });
});

describePulse('a PulseAudio server', () => {
  let pulse: PulseDaemon;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    pulse = await PulseDaemon.start();
    deskHeadsetSine(pulse);
    env = { ...process.env, ...clientEnv(pulse) };
  });
  afterAll(() => pulse?.stop());

  it('lists its sinks and sources, the defaults marked, monitors told apart', async () => {
    const list = await listAudioDevices({ env });
    expect(list.server).toMatch(/^pulseaudio \d+\.\d+/);
    const pulseDevices = list.devices.filter((d) => d.system === 'pulse');
    expect(pulseDevices.filter((d) => d.role === 'playback')).toEqual(
      expect.arrayContaining([
        { role: 'playback', system: 'pulse', name: 'headset', description: 'Headset', isDefault: true },
        { role: 'playback', system: 'pulse', name: 'desk', description: 'Desk', isDefault: false },
      ]),
    );
    expect(pulseDevices.filter((d) => d.isDefault).map((d) => d.name).sort()).toEqual(['headset', 'sine']);
    expect(pulseDevices.find((d) => d.name === 'desk.monitor')).toMatchObject({ role: 'capture', monitor: true, isDefault: false });
    expect(pulseDevices.find((d) => d.name === 'sine')).toMatchObject({ role: 'capture', isDefault: true });
    expect(pulseDevices.find((d) => d.name === 'sine')?.monitor).toBeUndefined();
    // ALSA's view is there too: its default (which leads to this server) even without a hint.
    expect(list.devices).toContainEqual({ system: 'alsa', role: 'playback', name: 'default', description: "ALSA's default device", isDefault: true });
    expect(list.notes).toEqual([]);
  });

  it('routes a sink or source chosen by name through ALSA with PULSE_SINK / PULSE_SOURCE', async () => {
    const list = await listAudioDevices({ env });
    const speaker = await chooseDevice('speaker:addon:desk', { env, list });
    expect(speaker).toMatchObject({ spec: 'speaker:addon', device: 'default', system: 'pulse', name: 'desk', label: 'addon → PulseAudio sink "desk" (Desk)' });
    expect(speaker?.env.PULSE_SINK).toBe('desk');
    // Without a backend named, a PulseAudio sink is played to by the PulseAudio backend itself.
    expect(await chooseDevice('speaker:desk', { env, list })).toMatchObject({ spec: 'speaker:pulse', device: 'desk', system: 'pulse', name: 'desk' });
    const mic = await chooseDevice('mic:sox:sine', { env, list });
    expect(mic).toMatchObject({ spec: 'mic:sox', device: 'default', system: 'pulse', name: 'sine' });
    expect(mic?.env.PULSE_SOURCE).toBe('sine');
    const err = await chooseDevice('mic:desk', { env, list }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'input_device', message: expect.stringMatching(/^no capture device "desk": the capture devices here are .*desk\.monitor.*sine/) });
  });
});
