/**
 * Failover of one device, through ALSA for real: a named device ("desk", ALSA's file plugin)
 * whose program is killed mid-stream, and a default device that works or does not.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseDevice, leToInt16, signals, type Frame } from '../../src/audio';
import { FailoverSink, FailoverSource, type DeviceChange } from '../../src/client/device-failover';
import { childrenOf } from '../helpers/processes';
import { waitFor, waitUntil } from '../helpers/wait';
import { int16ToLE } from '../../src/audio/wav';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-failover-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An ALSA configuration with a "desk" file device and a default that is a file device too, or no card at all. */
function alsa(defaultWorks: boolean): NodeJS.ProcessEnv {
  const file = (name: string) =>
    `{ type file; slave { pcm { type null } }; file "${path.join(dir, `${name}.raw`)}"; infile "${path.join(dir, 'in.raw')}"; format "raw"; hint { show on description "${name}" } }`;
  writeFileSync(path.join(dir, 'in.raw'), int16ToLE(signals.tone(700, 10000, 0.5)));
  const conf = `pcm.desk ${file('desk')}\npcm.!default ${defaultWorks ? file('default') : '{ type hw; card 7 }'}\n`;
  writeFileSync(path.join(dir, 'asound.conf'), conf);
  return { ...process.env, ALSA_CONFIG_PATH: path.join(dir, 'asound.conf') };
}

const played = (name: string) => (existsSync(path.join(dir, `${name}.raw`)) ? leToInt16(readFileSync(path.join(dir, `${name}.raw`))).length : 0);

function killOnly(program: string): void {
  const pids = childrenOf(process.pid, program);
  expect(pids).toHaveLength(1);
  process.kill(pids[0], 'SIGKILL');
}

test('a speaker whose aplay dies moves to the default device, and plays there', async () => {
  const env = alsa(true);
  const sink = new FailoverSink((await chooseDevice('speaker:aplay:desk', { env }))!);
  const errors: Error[] = [];
  sink.on('error', (e: Error) => errors.push(e));
  expect(sink.description).toBe('aplay → ALSA "desk" (desk)');
  await sink.open();
  const frame = new Int16Array(960).fill(1000);
  const writing = setInterval(() => sink.write(frame), 20);
  try {
    await waitUntil(() => played('desk') > 0, 'desk to play');
    const changed = waitFor<[DeviceChange]>(sink, 'device');
    killOnly('aplay');
    const [change] = await changed;
    expect(change).toEqual({
      side: 'output',
      from: 'aplay → ALSA "desk" (desk)',
      to: 'aplay → the default device',
      reason: expect.stringMatching(/^the speaker \(aplay\) stopped: killed by SIGKILL/),
      silent: false,
    });
    expect(sink.description).toBe('aplay → the default device');
    await waitUntil(() => played('default') > 0, 'the default device to play');
  } finally {
    clearInterval(writing);
    await sink.close();
  }
  expect(errors).toEqual([]);
  expect(childrenOf(process.pid, 'aplay')).toEqual([]);
});

test('when the default will not open either, the speaker goes silent and says so', async () => {
  const env = alsa(false);
  const sink = new FailoverSink((await chooseDevice('speaker:aplay:desk', { env }))!);
  await sink.open();
  const changed = waitFor<[DeviceChange]>(sink, 'device');
  killOnly('aplay');
  const [change] = await changed;
  expect(change).toMatchObject({ side: 'output', to: 'nothing (no output device would open)', silent: true });
  expect(change.reason).toMatch(/; aplay → the default device would not open either \(the speaker \(aplay\) would not open: .+\)$/);
  sink.write(new Int16Array(960));
  await sink.close();
});

test('a microphone whose arecord dies moves to the default device, else to silence, and frames keep coming', async () => {
  for (const defaultWorks of [true, false]) {
    const env = alsa(defaultWorks);
    const mic = new FailoverSource((await chooseDevice('mic:arecord:desk', { env }))!);
    const frames: Frame[] = [];
    await mic.start(960, (f) => frames.push(f));
    try {
      await waitUntil(() => frames.length >= 5, '5 frames from desk');
      const changed = waitFor<[DeviceChange]>(mic, 'device');
      killOnly('arecord');
      const [change] = await changed;
      expect(change).toMatchObject({ side: 'input', silent: !defaultWorks, to: defaultWorks ? 'arecord → the default device' : 'silence (no input device would open)' });
      const after = frames.length;
      await waitUntil(() => frames.length >= after + 10, '10 more frames');
      expect(frames.every((f) => f.length === 960)).toBe(true);
    } finally {
      await mic.stop();
    }
    // Nothing left recording once stopped (the recorder is told to stop, and goes).
    await waitUntil(() => childrenOf(process.pid, 'arecord').length === 0, 'no arecord left');
  }
});
