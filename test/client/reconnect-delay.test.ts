import { reconnectDelay } from '../../src/client/server-link';

test('the reconnect back-off doubles from 0.25 s to 5 s, with ±25 % jitter', () => {
  const mid = () => 0.5;
  expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => reconnectDelay(n, 250, 5000, mid))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  expect(reconnectDelay(0, 250, 5000, () => 0)).toBe(187.5);
  expect(reconnectDelay(0, 250, 5000, () => 1)).toBe(312.5);
  expect(reconnectDelay(9, 250, 5000, () => 1)).toBe(6250);
});
