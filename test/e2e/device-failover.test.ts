/**
 * Devices picked by name, and devices lost mid-call, end to end: a private PulseAudio daemon
 * with null sinks (what each plays is read back from its monitor with parec) and sine sources,
 * two real `parley` processes in a call through it. Every wait is for an event or for audio to
 * arrive; none assumes how fast the machine is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { decodeWav } from '../../src/audio/wav';
import { EXIT } from '../../src/client/exit-codes';
import { run, type Run } from '../cli/helpers/parley';
import { dominantFrequency, goertzel, rms } from '../helpers/audio';
import { childrenOf } from '../helpers/processes';
import { Capture, clientEnv, describePulse, nullSink, PulseDaemon, sineSource } from '../helpers/pulse';
import { waitUntil } from '../helpers/wait';

jest.setTimeout(120_000);

type Event = { event: string; [k: string]: unknown };

function events(r: Run): Event[] {
  return r
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

/** The newest stats event's count of packets received. */
function received(r: Run): number {
  const stats = events(r).filter((e) => e.event === 'stats');
  return stats.length ? Number(stats[stats.length - 1].received) : 0;
}

/** The last half second a monitor heard carries a steady tone of `freq` Hz. */
function hearsTone(c: Capture, freq: number): boolean {
  const s = c.last(24000);
  return s.length === 24000 && rms(s) > 1000 && Math.abs(dominantFrequency(s, 48000, 100, 4000, 5) - freq) <= 10;
}

/**
 * The mean power of `x` within 50 Hz of `freq`: its DFT bins there (spaced by the signal's
 * length), each counted twice for the negative frequencies, so a pure tone gives its mean power.
 */
function bandPower(x: ArrayLike<number>, freq: number): number {
  const step = 48000 / x.length;
  let p = 0;
  for (let f = Math.ceil((freq - 50) / step) * step; f <= freq + 50; f += step) p += 2 * goertzel(x, f, 48000);
  return p;
}

describePulse('devices through PulseAudio', () => {
  let pulse: PulseDaemon;
  let server: RunningServer;
  let dir: string;
  const running: Run[] = [];
  const captures: Capture[] = [];

  beforeAll(async () => {
    pulse = await PulseDaemon.start();
    server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  });
  afterAll(async () => {
    await server?.close();
    await pulse?.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-failover-'));
  });
  afterEach(async () => {
    for (const c of captures.splice(0)) c.stop();
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const parley = (args: string[]) => {
    const r = run([...args, '--server', `127.0.0.1:${server.port}`, '--json'], { env: clientEnv(pulse) });
    running.push(r);
    return r;
  };
  const capture = (source: string) => {
    const c = new Capture(pulse, source);
    captures.push(c);
    return c;
  };

  /** bob answers with `bobArgs`; alice calls him sending a 1000 Hz tone; both connected. */
  async function call(bobArgs: string[], aliceArgs: string[] = []): Promise<{ alice: Run; bob: Run }> {
    const bob = parley(['answer', '--auto', '--name', 'bob', '--max-calls', '1', ...bobArgs]);
    await bob.waitOut('"event":"waiting"');
    const alice = parley(['call', 'bob', '--input', 'tone:1000', '--duration', '600', ...aliceArgs]);
    await Promise.all([alice.waitOut('"event":"connected"'), bob.waitOut('"event":"connected"')]);
    return { alice, bob };
  }

  /** alice hangs up (as on Ctrl-C); both leave cleanly, bob told that alice hung up. */
  async function hangUp({ alice, bob }: { alice: Run; bob: Run }): Promise<void> {
    alice.child.kill('SIGINT');
    expect(await alice.exited).toBe(EXIT.ok);
    expect(await bob.exited).toBe(EXIT.ok);
    expect(events(bob).find((e) => e.event === 'ended')).toMatchObject({ reason: 'hangup', by: 'peer' });
  }

  it('speaker:aplay:NAME plays to that sink and not to the other', async () => {
    const mods = [nullSink(pulse, 'left', 'Left'), nullSink(pulse, 'right', 'Right')];
    try {
      const left = capture('left.monitor');
      const right = capture('right.monitor');
      const both = await call(['--output', 'speaker:aplay:left', '--input', 'silence']);
      await waitUntil(() => hearsTone(left, 1000), 'the left sink to play the 1000 Hz tone', 60_000, 100);
      // All the while, the right sink heard nothing at all.
      expect(right.length).toBeGreaterThan(0);
      expect(rms(right.samples())).toBe(0);
      await hangUp(both);
    } finally {
      for (const m of mods) pulse.pactl('unload-module', m);
    }
  });

  it('unloading the sink in use moves playback to the default sink; the call goes on and says so', async () => {
    const victim = nullSink(pulse, 'victim', 'Victim');
    const fallback = nullSink(pulse, 'fallback', 'Fallback');
    pulse.pactl('set-default-sink', 'fallback');
    try {
      const heard = capture('victim.monitor');
      const rescued = capture('fallback.monitor');
      const both = await call(['--output', 'speaker:aplay:victim', '--input', 'tone:700']);
      await waitUntil(() => hearsTone(heard, 1000), 'the chosen sink to play the tone', 60_000, 100);
      expect(pulse.pactl('unload-module', victim).ok).toBe(true);

      await both.bob.waitOut('"event":"device"', 30_000);
      const change = events(both.bob).find((e) => e.event === 'device');
      // Said either way it happens: PulseAudio moved the stream to its default sink, or aplay
      // failed with its sink and was replaced by aplay on the default device (which is that sink).
      expect(change).toMatchObject({ side: 'output', silent: false, to: expect.stringMatching(/"fallback"|^aplay → the default device$/) });
      expect(change?.from).toContain('"victim"');
      // Playback carries on at the default sink, and alice goes on hearing bob.
      await waitUntil(() => hearsTone(rescued, 1000), 'the default sink to play the tone', 60_000, 100);
      const before = received(both.alice);
      await waitUntil(() => received(both.alice) > before + 50, 'alice to receive 50 more packets', 60_000, 100);
      expect(events(both.bob).some((e) => e.event === 'ended')).toBe(false);
      await hangUp(both);
    } finally {
      pulse.pactl('unload-module', fallback);
    }
  });

  it('a speaker and a microphone whose programs die mid-call are replaced by the default devices', async () => {
    const mods = [nullSink(pulse, 'chosen', 'Chosen'), nullSink(pulse, 'fallback', 'Fallback'), sineSource(pulse, 'high', 1500), sineSource(pulse, 'low', 500)];
    pulse.pactl('set-default-sink', 'fallback');
    pulse.pactl('set-default-source', 'low');
    const recording = path.join(dir, 'alice.wav');
    try {
      const chosen = capture('chosen.monitor');
      const rescued = capture('fallback.monitor');
      // Voice processing off: a steady tone is what a noise suppressor learns to take out (within
      // seconds, so only a slow run showed it), and this test is about the devices.
      const both = await call(['--output', 'speaker:aplay:chosen', '--input', 'mic:arecord:high', '--aec', 'off', '--ns', 'off', '--agc', 'off', '--dtx', 'off'], ['--output', recording]);
      await waitUntil(() => hearsTone(chosen, 1000), 'the chosen sink to play the tone', 60_000, 100);
      const bobPid = both.bob.child.pid!;
      const programs = [...childrenOf(bobPid, 'aplay'), ...childrenOf(bobPid, 'arecord')];
      expect(programs).toHaveLength(2);
      for (const pid of programs) process.kill(pid, 'SIGKILL');

      await waitUntil(() => events(both.bob).filter((e) => e.event === 'device').length >= 2, 'both devices to be replaced', 30_000, 100);
      const changes = events(both.bob).filter((e) => e.event === 'device');
      expect(changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ side: 'output', silent: false, to: 'aplay → the default device', reason: expect.stringMatching(/the speaker \(aplay\) stopped/) }),
          expect.objectContaining({ side: 'input', silent: false, to: 'arecord → the default device' }),
        ]),
      );
      await waitUntil(() => hearsTone(rescued, 1000), 'the default sink to play the tone', 60_000, 100);
      // Alice hears the default source (500 Hz) now: two seconds more of it, then hang up.
      const before = received(both.alice);
      await waitUntil(() => received(both.alice) > before + 100, 'alice to receive 100 more packets', 60_000, 100);
      expect(events(both.bob).some((e) => e.event === 'ended')).toBe(false);
      await hangUp(both);
      const heard = decodeWav(readFileSync(recording)).samples;
      // The default source's 500 Hz, not the chosen one's 1500 Hz, over the last two seconds: by
      // the energy around each, since a stall of this busy machine (concealment, stretching)
      // breaks the tone's phase and has moved its apparent peak by up to 150 Hz.
      const last = heard.subarray(heard.length - 2 * 48000);
      const low = bandPower(last, 500);
      expect(low / (bandPower(last, 1500) + 1e-9)).toBeGreaterThan(10);
      expect(low / (rms(last) ** 2 + 1e-9)).toBeGreaterThan(0.2);
    } finally {
      for (const m of mods) pulse.pactl('unload-module', m);
    }
  });
});
