/** `parley doctor`: which codecs and audio devices this machine can use, and what to install. */
import { audioDeviceReport, codecReport } from '../../audio';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Reporter } from './reporter';

export async function doctor(report: Reporter): Promise<ExitCode> {
  const codecs = codecReport();
  const devices = audioDeviceReport();
  const lines = [
    'codecs:',
    ...codecs.map((c) => `  ${c.name.padEnd(6)} ${c.available ? `ok   ${c.backend}` : 'MISSING'}${c.problem ? `  (${c.problem})` : ''}`),
    'audio devices:',
    ...devices.map(
      (d) => `  ${d.name.padEnd(20)} ${d.available ? 'ok  ' : 'MISSING'} ${d.role}${d.available ? '' : `: ${d.detail}; install with: ${d.install}`}`,
    ),
    'files (--input a.wav, --output b.wav), tones and null output always work.',
  ];
  report.data('doctor', { codecs, devices }, lines.join('\n'));
  return EXIT.ok;
}
