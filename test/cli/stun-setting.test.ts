/** `--stun`: where a client learns its public address, or off. */
import { SETTINGS, SettingError } from '../../src/client/commands/settings';

test('--stun takes HOST:PORT (3478 by default) or off, and refuses anything else', () => {
  const parse = SETTINGS.stun.parse;
  expect(parse('stun.example.org')).toEqual({ host: 'stun.example.org', port: 3478 });
  expect(parse('192.0.2.1:7100')).toEqual({ host: '192.0.2.1', port: 7100 });
  expect(parse('off')).toBe(false);
  for (const bad of ['', 'a:b', 'host:0', 'host:70000', 'a b:1', '[::1]:3478']) expect(() => parse(bad)).toThrow(SettingError);
});
