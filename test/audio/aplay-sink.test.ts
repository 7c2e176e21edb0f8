/**
 * The aplay speaker backend through ALSA's file plugin: no sound card needed, but every byte
 * goes through aplay and ALSA.
 */
import { AplaySink, SpeakerSink, createSink } from '../../src/audio';
import { alsaFileDevice, brokenAlsaConfig, type AlsaFileDevice } from '../helpers/audio';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('speaker specs', () => {
  it('keep "speaker" for the addon and name each backend', () => {
    expect(createSink('speaker')).toBeInstanceOf(SpeakerSink);
    expect(createSink('speaker:addon')).toBeInstanceOf(SpeakerSink);
    expect(createSink('speaker:aplay')).toBeInstanceOf(AplaySink);
    expect(() => createSink('speaker:pulse')).toThrow(/unknown audio sink "speaker:pulse" \(expected .*speaker:aplay/);
  });
});

describe('speaker via aplay', () => {
  let dev: AlsaFileDevice;
  beforeEach(() => {
    dev = alsaFileDevice(new Int16Array(4800));
  });
  afterEach(() => dev.cleanup());

  it('keeps at most two frames waiting for aplay, dropping the oldest', async () => {
    const sink = new AplaySink({ env: dev.env });
    await sink.open();
    // Written in one go, all but the frame in flight and two behind it must go.
    for (let i = 0; i < 10; i++) sink.write(new Int16Array(960));
    expect(sink.stats).toEqual({ frames: 10, dropped: 7 });
    await sink.close();
    // aplay may pad its last period with silence.
    expect(dev.output().length).toBeGreaterThanOrEqual(3 * 960);
    expect(dev.output().length).toBeLessThan(4 * 960);
  });

  it('a device that cannot open rejects open() with aplay\'s message', async () => {
    const bad = brokenAlsaConfig();
    try {
      const sink = new AplaySink({ env: bad.env });
      const errors: Error[] = [];
      sink.on('error', (e) => errors.push(e));
      const started = Date.now();
      await expect(sink.open()).rejects.toThrow(/speaker: aplay could not open device "default" \(exited with code 1: aplay: .*audio open error/);
      expect(Date.now() - started).toBeLessThan(1000);
      sink.write(new Int16Array(960));
      await sink.close();
      expect(errors).toEqual([]);
    } finally {
      bad.cleanup();
    }
  });

  it('says what to install when aplay is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(createSink('speaker:aplay').open()).rejects.toThrow(/aplay is not installed \(apt-get install alsa-utils\)/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports aplay dying mid-stream as an error event', async () => {
    const sink = new AplaySink({ env: dev.env });
    await sink.open();
    const error = new Promise<Error>((resolve) => sink.on('error', resolve));
    sink.write(new Int16Array(960));
    (sink as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    await expect(error).resolves.toThrow(/speaker: aplay stopped playing to device "default" \(killed by SIGKILL/);
    sink.write(new Int16Array(960));
    await sink.close();
  });
});
