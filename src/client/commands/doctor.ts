/**
 * `parley doctor`: each codec and each audio device opened for real, briefly — what works here,
 * what failed and why, what to install — and which backend and device a call's input and
 * output would use. A machine where nothing can capture or nothing can play, or a device named
 * that is not there, is a failure (exit 1): a call there could only use files and tones.
 */
import { chooseDevice, codecReport, frameSamples, getCodec, probeAudioDevices, type CodecName, type DeviceProbe } from '../../audio';
import { ENGINE_FACTORIES } from '../../audio/processing/engines';
import { ENGINE_SAMPLES, type EngineName } from '../../audio/processing/engine';
import { openVoice } from '../call-voice';
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

interface EngineCheck {
  name: EngineName;
  status: 'ok' | 'failed' | 'missing';
  message: string;
}

/** Opens each voice engine with the stages it runs and processes one frame through it. */
async function checkEngines(): Promise<EngineCheck[]> {
  const checks: EngineCheck[] = [];
  for (const [name, factory] of Object.entries(ENGINE_FACTORIES) as [EngineName, (typeof ENGINE_FACTORIES)[EngineName]][]) {
    const all = name !== 'rnnoise';
    const made = await factory({ aec: all, ns: true, agc: all }).catch((err: Error) => ({ unavailable: err.message }));
    if ('unavailable' in made) {
      checks.push({ name, status: 'missing', message: made.unavailable });
      continue;
    }
    try {
      made.playback(new Int16Array(ENGINE_SAMPLES));
      made.capture(new Int16Array(ENGINE_SAMPLES), 0);
      checks.push({ name, status: 'ok', message: all ? 'echo cancellation, noise suppression, gain control work' : 'noise suppression works' });
    } catch (err) {
      checks.push({ name, status: 'failed', message: (err as Error).message });
    } finally {
      made.close();
    }
  }
  return checks;
}

const STATUS = { ok: 'ok     ', failed: 'FAILED ', missing: 'MISSING' } as const;

function deviceLine(d: DeviceProbe, verbose: boolean): string {
  const install = d.install ? `; install with: ${d.install}` : '';
  const detail = verbose && d.detail ? d.detail.split('\n').map((l) => `\n      ${l}`).join('') : '';
  return `  ${d.spec.padEnd(14)} ${STATUS[d.status]} ${d.message}${install}${detail}`;
}

interface SideUse {
  side: 'input' | 'output';
  spec: string;
  backend?: string;
  device?: string;
  /** What the spec comes to, e.g. `aplay → PulseAudio sink "desk" (Desk)`, or why it cannot be used. */
  label: string;
  ok: boolean;
}

/** What a call's input and output specs come to on this machine, without opening anything. */
async function sideUse(side: SideUse['side'], spec: string): Promise<SideUse> {
  try {
    const choice = await chooseDevice(spec);
    if (!choice) return { side, spec, label: 'no device (a file, a tone, silence or null)', ok: true };
    return { side, spec, backend: choice.backend, device: choice.name ?? choice.device ?? 'default', label: choice.label, ok: true };
  } catch (err) {
    return { side, spec, label: (err as Error).message, ok: false };
  }
}

/**
 * Runs the checks and reports them. `strict` (the doctor command) exits 1 when nothing can
 * capture or nothing can play; `--version --verbose` only reports.
 */
export async function doctor(
  report: Reporter,
  opts: { strict?: boolean; verbose?: boolean; input?: string; output?: string } = {},
): Promise<ExitCode> {
  const codecs = checkCodecs();
  const engines = await checkEngines();
  const voice = await openVoice({ aec: true, ns: true, agc: true, dtx: true }, { source: {}, sink: {} });
  voice.processor?.close();
  const processing = Object.entries(voice.running).map(([stage, engine]) => `${stage} ${engine}`);
  const devices = await probeAudioDevices();
  const using = [await sideUse('input', opts.input ?? 'mic'), await sideUse('output', opts.output ?? 'speaker')];
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
    'voice processing (--aec, --ns, --agc):',
    ...engines.map((e) => `  ${e.name.padEnd(14)} ${STATUS[e.status]} ${e.message}`),
    `  a microphone's calls use: ${processing.length ? processing.join(', ') : `nothing (${voice.missing.join('; ')})`}`,
    'microphones (--input):',
    ...inputs.map((d) => deviceLine(d, opts.verbose ?? false)),
    'speakers (--output):',
    ...outputs.map((d) => deviceLine(d, opts.verbose ?? false)),
    'files (--input a.wav, --output b.wav), tones and --output null always work.',
    "calls use (--input, --output; 'parley devices' lists the devices):",
    ...using.map((u) => `  ${u.side.padEnd(7)} ${u.spec.padEnd(Math.max(...using.map((x) => x.spec.length)))}  ${u.ok ? '' : 'FAILED '}${u.label}`),
    ...verdict,
  ];
  report.data('doctor', { codecs, engines, processing: voice.running, devices, using, canCapture, canPlay }, lines.join('\n'));
  return opts.strict && (!canCapture || !canPlay || using.some((u) => !u.ok)) ? EXIT.failed : EXIT.ok;
}
