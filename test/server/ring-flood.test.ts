import { useServerChild } from '../helpers/signaling';
import { delay, waitUntil } from '../helpers/wait';

/**
 * One attacker rings a victim and cancels, over and over, as fast as the server lets it (it
 * waits as long as each rate_limited refusal asks, so it is never cut off and floods at the
 * highest rate allowed). An ordinary caller must still reach the victim.
 */
jest.setTimeout(120_000);

const suite = useServerChild();
const register = (name: string) => suite.register(name);

test('a victim rung and cancelled in a loop by one attacker stays callable by an ordinary caller', async () => {
  const victim = await register('victim');
  const attacker = await register('attacker');
  const caller = await register('ordinary');
  const offer = { codecs: ['opus'] };

  let stop = false;
  let rings = 0;
  const refusals: Record<string, unknown>[] = [];
  const attacking = (async () => {
    while (!stop) {
      attacker.send({ type: 'call', to: 'victim', offer });
      const r = await attacker.next(30_000);
      if (r.type === 'ringing') {
        rings++;
        attacker.send({ type: 'cancel', call: r.call });
        await attacker.next(30_000);
      } else if (r.code === 'rate_limited') {
        refusals.push(r);
        await delay(Number(r.retryAfterMs));
      }
    }
  })();

  await waitUntil(() => rings >= 10, 'the attacker is ringing', 30_000);
  // The ordinary caller tries a few times, a quarter of a second apart.
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    caller.send({ type: 'call', to: 'victim', offer, req: i });
    const r = await caller.next(30_000);
    outcomes.push(r.type === 'ringing' ? 'ringing' : String(r.code));
    if (r.type === 'ringing') {
      caller.send({ type: 'cancel', call: r.call });
      expect(await caller.next(30_000)).toEqual({ type: 'ok' });
    }
    await delay(250);
  }
  stop = true;
  await attacking;
  process.stdout.write(`ring flood: attacker rang ${rings} times, refused ${refusals.length}; ordinary caller: ${outcomes.join(' ')}\n`);
  // One unlucky overlap with an attacker's ring allowed: the line is a line.
  expect(outcomes.filter((o) => o === 'ringing').length).toBeGreaterThanOrEqual(7);
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals[0]).toMatchObject({ retryAfterMs: expect.any(Number), message: expect.stringMatching(/try again in/) });
  expect(victim.closed).toBe(false);
});
