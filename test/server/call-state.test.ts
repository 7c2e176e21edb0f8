import { nextPhase } from '../../src/server/call-state';

test('call phases: ringing → active → ended, nothing leaves ended', () => {
  expect(nextPhase('ringing', 'accept')).toBe('active');
  for (const e of ['decline', 'cancel', 'timeout', 'hangup', 'gone'] as const) expect(nextPhase('ringing', e)).toBe('ended');
  expect(nextPhase('active', 'hangup')).toBe('ended');
  expect(nextPhase('active', 'gone')).toBe('ended');
  for (const e of ['accept', 'decline', 'cancel', 'timeout'] as const) expect(nextPhase('active', e)).toBeNull();
  for (const e of ['accept', 'decline', 'cancel', 'timeout', 'hangup', 'gone'] as const) expect(nextPhase('ended', e)).toBeNull();
});
