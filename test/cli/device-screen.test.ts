/**
 * The interactive client's device screen in a real pseudo-terminal (tmux), against a private
 * PulseAudio daemon: `5`, a microphone and a speaker picked by number, then a call that uses
 * them: the other side hears the chosen source, and the playback stream is on the chosen sink.
 */
import type { RunningServer } from '../../src';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { dominantFrequency, rms } from '../helpers/audio';
import { clientEnv, describePulse, nullSink, PulseDaemon, sineSource, streamsOn } from '../helpers/pulse';
import { testServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { RecordingSink } from '../e2e/media-helpers';
import { PARLEY } from './helpers/parley';
import { TmuxScreen } from './helpers/tmux';

jest.setTimeout(90_000);

/** The number the screen gives `spec` in its list. */
function numberOf(screen: string, spec: string): string {
  const m = new RegExp(`^\\s*(\\d+)\\s+${spec.replace(/[.:]/g, '\\$&')}\\s`, 'm').exec(screen);
  if (!m) throw new Error(`${spec} is not on the screen:\n${screen}`);
  return m[1];
}

describePulse('choosing devices in the interactive client', () => {
  let pulse: PulseDaemon;
  let server: RunningServer;
  beforeAll(async () => {
    pulse = await PulseDaemon.start();
    nullSink(pulse, 'desk', 'Desk');
    sineSource(pulse, 'sine', 1200);
    server = await testServer();
  });
  afterAll(async () => {
    await server?.close();
    await pulse?.stop();
  });

  it('5 picks the microphone and speaker by number, and the next call uses them', async () => {
    const bob = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1' });
    const heard = new RecordingSink();
    const screen = TmuxScreen.start('devices', [process.execPath, PARLEY, '--server', `127.0.0.1:${server.port}`, '--name', 'alice', '--output', 'null', '--input', 'silence'], clientEnv(pulse));
    try {
      await bob.register('bob');
      const answered = new Promise<ActiveCall>((resolve) => bob.once('incoming', (c) => void c.accept({ input: 'tone:660', output: heard }).then(resolve)));
      await screen.waitFor('5  choose the microphone and speaker');
      screen.send('5');
      const mics = await screen.waitFor(/Choose the microphone \(input\)[\s\S]*Number:/);
      expect(mics).toMatch(/^\s*1\s+mic\s+the default device$/m);
      expect(mics).toMatch(/mic:desk\.monitor\s+Monitor of Desk \(PulseAudio, monitor\)/);
      screen.type(numberOf(mics, 'mic:sine'));
      screen.send('Enter');
      const speakers = await screen.waitFor(/Microphone: mic:sine\s+Choose the speaker \(output\)[\s\S]*Number:/);
      screen.type(numberOf(speakers, 'speaker:desk'));
      screen.send('Enter');
      await screen.waitFor('Calls will use mic:sine and speaker:desk.');

      screen.send('1');
      screen.type('bob');
      screen.send('Enter');
      await screen.waitFor('In a call with bob');
      const call = await answered;
      // Bob hears alice's sine source, and alice's speaker plays into the desk sink. (What the
      // speaker addon delivers through PulseAudio is the backend's business, tested with it.)
      await waitUntil(() => {
        const s = heard.samples(Math.max(0, heard.frames.length - 25));
        return heard.frames.length > 25 && rms(s) > 1000 && Math.abs(dominantFrequency(s, 48000, 100, 4000, 5) - 1200) <= 10;
      }, 'bob to hear the sine source', 60_000, 100);
      await waitUntil(() => streamsOn(pulse, 'desk') === 1, 'a stream on the desk sink', 60_000, 100);
      await call.hangup();
      await screen.waitFor('hung up');
      screen.send('0');
      expect(await screen.waitExit()).toBe(0);
    } finally {
      screen.kill();
      await bob.close();
    }
  });
});
