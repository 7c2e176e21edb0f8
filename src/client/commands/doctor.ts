/**
 * `parley doctor`: each codec and each audio device opened for real, briefly — what works here,
 * what failed and why, what to install. A machine where nothing can capture or nothing can play
 * is a failure (exit 1): a call there could only use files and tones.
 */
import { codecReport, frameSamples, getCodec, probeAudioDevices, type CodecName, type DeviceProbe } from '../../audio';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Reporter } from './reporter';

interface CodecCheck {
  name: CodecName;
  status: 'ok' | 'failed' | 'missing';
  backend?: string;
  message: string;
}

/** Encodes and decodes one frame with each codec: loading a module is not the same as working. */
function checkCodecs(): CodecCheck[] {
  return codecReport().map((entry): CodecCheck => {
    if (!entry.available) return { name: entry.name, status: 'missing', message: entry.problem ?? 'not available' };
    try {
      const codec = getCodec(entry.name);
      const encoder = codec.createEncoder({ frameMs: 20 });
      const decoder = codec.createDecoder({ frameMs: 20 });
      const frame = new Int16Array(frameSamples(20)).map((_, i) => Math.round(8000 * Math.sin(i / 10)));
      const decoded = decoder.decode(encoder.encode(frame));
      encoder.close();
      decoder.close();
      if (decoded.length !== frame.length) throw new Error(`decoded ${decoded.length} samples, not ${frame.length}`);
      return { name: entry.name, status: 'ok', backend: entry.backend, message: entry.problem ? `works (${entry.problem})` : 'works' };
    } catch (err) {
      return { name: entry.name, status: 'failed', backend: entry.backend, message: (err as Error).message };
    }
  });
}

const STATUS = { ok: 'ok     ', failed: 'FAILED ', missing: 'MISSING' } as const;

function deviceLine(d: DeviceProbe, verbose: boolean): string {
  const install = d.install ? `; install with: ${d.install}` : '';
  const detail = verbose && d.detail ? d.detail.split('\n').map((l) => `\n      ${l}`).join('') : '';
  return `  ${d.spec.padEnd(14)} ${STATUS[d.status]} ${d.message}${install}${detail}`;
}

/**
 * Runs the checks and reports them. `strict` (the doctor command) exits 1 when nothing can
 * capture or nothing can play; `--version --verbose` only reports.
 */
export async function doctor(report: Reporter, opts: { strict?: boolean; verbose?: boolean } = {}): Promise<ExitCode> {
  const codecs = checkCodecs();
  const devices = await probeAudioDevices();
  const inputs = devices.filter((d) => d.role === 'input');
  const outputs = devices.filter((d) => d.role === 'output');
  const canCapture = inputs.some((d) => d.status === 'ok');
  const canPlay = outputs.some((d) => d.status === 'ok');
  const verdict = [
    ...(canCapture ? [] : ['Nothing here can capture audio: calls can send only files (--input a.wav) or tones.']),
    ...(canPlay ? [] : ['Nothing here can play audio: calls can only be recorded (--output b.wav) or discarded.']),
  ];
  const lines = [
    'codecs:',
    ...codecs.map((c) => `  ${c.name.padEnd(14)} ${STATUS[c.status]} ${c.backend ? `${c.backend}: ` : ''}${c.message}`),
    'microphones (--input):',
    ...inputs.map((d) => deviceLine(d, opts.verbose ?? false)),
    'speakers (--output):',
    ...outputs.map((d) => deviceLine(d, opts.verbose ?? false)),
    'files (--input a.wav, --output b.wav), tones and --output null always work.',
    ...verdict,
  ];
  report.data('doctor', { codecs, devices, canCapture, canPlay }, lines.join('\n'));
  return opts.strict && (!canCapture || !canPlay) ? EXIT.failed : EXIT.ok;
}
