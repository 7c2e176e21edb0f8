/**
 * probeAudioDevices opens every backend for real: through ALSA's file plugin they work, on a
 * sound card that is not there they fail with a reason, without their programs they are missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeAudioDevices, signals } from '../../src/audio';
import { alsaFileDevice, brokenAlsaConfig } from '../helpers/audio';
import { clientEnv, describePulse, PulseDaemon, sineSource } from '../helpers/pulse';

test('every backend opens through a working device', async () => {
  const dev = alsaFileDevice(signals.tone(440, 2000));
  try {
    // No PulseAudio server answers in this environment: its rows are the PulseAudio tests' concern.
    const probes = (await probeAudioDevices({ env: dev.env })).filter((p) => p.backend !== 'pulse');
    expect(probes.map((p) => [p.backend, p.role, p.spec, p.status])).toEqual([
      ['arecord', 'input', 'mic:arecord', 'ok'],
      ['sox', 'input', 'mic:sox', 'ok'],
      ['speaker', 'output', 'speaker:addon', 'ok'],
      ['aplay', 'output', 'speaker:aplay', 'ok'],
    ]);
    expect(probes[0].message).toBe('captured audio from ALSA device "default"');
    expect(probes[3].message).toBe('played to ALSA device "default"');
    // The speakers really played: their silence reached the device's file.
    expect(dev.output().length).toBeGreaterThan(0);
  } finally {
    dev.cleanup();
  }
});

test('on a sound card that is not there every backend fails, each in one line with the raw text as detail', async () => {
  const bad = brokenAlsaConfig();
  try {
    const probes = await probeAudioDevices({ env: bad.env });
    expect(probes.map((p) => [p.backend, p.status, p.message])).toEqual([
      ['pulse', 'failed', expect.stringMatching(/^the microphone \(PulseAudio\) would not open: /)],
      ['arecord', 'failed', 'the microphone (arecord) would not open: no such device'],
      ['sox', 'failed', 'the microphone (sox) would not open: no such device'],
      ['pulse', 'failed', expect.stringMatching(/^the speaker \(PulseAudio\) would not open: /)],
      ['speaker', 'failed', 'the speaker (speaker addon) would not open: cannot open device "default"'],
      ['aplay', 'failed', 'the speaker (aplay) would not open: no such device'],
    ]);
    for (const p of probes) {
      expect(p.message).not.toMatch(/\n/);
      // ALSA's raw text runs over lines; PulseAudio's reason is one.
      expect(p.detail).toMatch(p.backend === 'pulse' ? /^PulseAudio: could not connect/ : /\n/);
    }
  } finally {
    bad.cleanup();
  }
});

test('a device that never delivers fails within the probe timeout', async () => {
  // Capture from a FIFO nobody writes to: the recorder waits for ever, the probe does not.
  const dir = mkdtempSync(join(tmpdir(), 'parley-alsa-hang-'));
  try {
    const fifo = join(dir, 'never.raw');
    execFileSync('mkfifo', [fifo]);
    const conf = join(dir, 'asound.conf');
    writeFileSync(conf, `pcm.!default { type file; slave { pcm { type null } }; file "${join(dir, 'OUT.raw')}"; infile "${fifo}"; format "raw" }\n`);
    const [, arecord] = await probeAudioDevices({ env: { ...process.env, ALSA_CONFIG_PATH: conf }, timeoutMs: 500 });
    expect(arecord).toMatchObject({ backend: 'arecord', status: 'failed', message: 'the microphone (arecord) would not open: delivered no audio within 500 ms' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the programs, each says what to install', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  const bad = brokenAlsaConfig();
  try {
    const probes = await probeAudioDevices({ env: bad.env });
    expect(probes.filter((p) => p.status === 'missing').map((p) => [p.backend, p.message, p.install])).toEqual([
      ['arecord', 'arecord is not installed', 'apt-get install alsa-utils'],
      ['sox', 'sox is not installed', 'apt-get install sox libsox-fmt-alsa'],
      ['aplay', 'aplay is not installed', 'apt-get install alsa-utils'],
    ]);
  } finally {
    process.env.PATH = path;
    bad.cleanup();
  }
});

describePulse('with a PulseAudio server', () => {
  let pulse: PulseDaemon;
  beforeAll(async () => {
    pulse = await PulseDaemon.start();
    sineSource(pulse, 'sine', 440);
    pulse.pactl('set-default-source', 'sine');
  });
  afterAll(() => pulse?.stop());

  it('the PulseAudio backends open: capture from its default source, play to its default sink', async () => {
    const env = { ...process.env, ...clientEnv(pulse) };
    const probes = (await probeAudioDevices({ env })).filter((p) => p.backend === 'pulse');
    expect(probes.map((p) => [p.spec, p.status, p.message])).toEqual([
      ['mic:pulse', 'ok', `captured audio from PulseAudio at ${env.PULSE_SERVER}`],
      ['speaker:pulse', 'ok', `played to PulseAudio at ${env.PULSE_SERVER}`],
    ]);
  });
});
