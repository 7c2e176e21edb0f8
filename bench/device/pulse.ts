/**
 * A private PulseAudio daemon for the device benchmark: its own runtime directory, a pipe sink
 * "ear" (what the speaker plays into, read back from a FIFO, paced by the system clock as a
 * sound card would be) and a pipe source "mouth" (what the microphone records, fed through a
 * FIFO), plus an ALSA configuration whose
 * default pcm is PulseAudio. Nothing outside its temporary directory is touched, and the
 * system's ALSA clients never see it: they look for a server at the usual place.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../../src/audio/devices';

export const INSTALL = 'apt-get install pulseaudio libasound2-plugins pulseaudio-utils';

const PLUGIN_DIRS = ['/usr/lib/x86_64-linux-gnu/alsa-lib', '/usr/lib/aarch64-linux-gnu/alsa-lib', '/usr/lib/alsa-lib', '/usr/lib64/alsa-lib'];

/** What is missing for the benchmark, empty when everything is there. */
export function missingPieces(): string[] {
  const missing = ['pulseaudio', 'pactl', 'parec', 'pacat', 'arecord', 'aplay'].filter((x) => !findExecutable(x));
  if (!PLUGIN_DIRS.some((d) => existsSync(join(d, 'libasound_module_pcm_pulse.so')))) missing.push('ALSA pulse plugin');
  return missing;
}

export class PulseDaemon {
  /** Environment for every client: libpulse finds the server, ALSA routes "default" to it. */
  readonly env: NodeJS.ProcessEnv;
  readonly mouthFifo: string;
  readonly earFifo: string;
  /** The end of what the daemon wrote to stderr: why it stopped, if it did. */
  private lastWords = '';

  private constructor(
    readonly dir: string,
    private readonly daemon: ChildProcess,
  ) {
    daemon.stderr?.on('data', (c: Buffer) => (this.lastWords = (this.lastWords + c.toString()).slice(-2000)));
    this.mouthFifo = join(dir, 'mouth.fifo');
    this.earFifo = join(dir, 'ear.fifo');
    this.env = {
      ...process.env,
      PULSE_SERVER: `unix:${join(dir, 'native')}`,
      PULSE_COOKIE: join(dir, 'cookie'),
      ALSA_CONFIG_PATH: join(dir, 'asound.conf'),
    };
  }

  /** Starts the daemon; `extra` lines (given its directory) are added to its startup script (more sinks, sources). */
  static async start(extra: string[] | ((dir: string) => string[]) = []): Promise<PulseDaemon> {
    const dir = mkdtempSync(join(tmpdir(), 'parley-pulse-'));
    const script = [
      `load-module module-native-protocol-unix auth-anonymous=1 socket=${join(dir, 'native')}`,
      `load-module module-pipe-sink sink_name=ear file=${join(dir, 'ear.fifo')} use_system_clock_for_timing=yes rate=48000 channels=1 format=s16le`,
      `load-module module-pipe-source source_name=mouth file=${join(dir, 'mouth.fifo')} rate=48000 channels=1 format=s16le`,
      'set-default-sink ear',
      'set-default-source mouth',
      ...(typeof extra === 'function' ? extra(dir) : extra),
    ];
    writeFileSync(join(dir, 'parley.pa'), script.join('\n') + '\n');
    writeFileSync(join(dir, 'asound.conf'), 'pcm.!default { type pulse }\nctl.!default { type pulse }\n');
    const env = { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir, PULSE_RUNTIME_PATH: dir, PULSE_STATE_PATH: dir };
    const args = ['-n', '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', '--log-level=error', '--log-target=stderr', '-F', join(dir, 'parley.pa')];
    const daemon = spawn('pulseaudio', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const pulse = new PulseDaemon(dir, daemon);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (daemon.exitCode !== null) break;
      if (pulse.pactl('info').ok && existsSync(pulse.mouthFifo)) return pulse;
      await new Promise((r) => setTimeout(r, 100));
    }
    const why = pulse.lastWords.trim() || 'no answer within 5 s';
    await pulse.stop();
    throw new Error(`pulseaudio did not start: ${why}`);
  }

  /** Null while the daemon runs; else how it ended and what it said last. */
  ended(): string | null {
    const d = this.daemon;
    if (d.exitCode === null && d.signalCode === null) return null;
    return `the daemon ended (${d.signalCode ?? `exit code ${d.exitCode}`})${this.lastWords.trim() ? `: ${this.lastWords.trim()}` : ''}`;
  }

  /** Runs pactl against this daemon; `err` says why it failed (its stderr, or the timeout, and whether the daemon is gone). */
  pactl(...args: string[]): { ok: boolean; out: string; err: string } {
    // Generous: on a loaded 2-core machine a module load has taken over 2 s.
    const r = spawnSync('pactl', args, { env: this.env, encoding: 'utf8', timeout: 15_000 });
    const err = r.error ? r.error.message : (r.stderr ?? '').trim();
    const ended = r.status === 0 ? null : this.ended();
    return { ok: r.status === 0, out: r.stdout ?? '', err: ended ? `${err}; ${ended}` : err };
  }

  /** Configured latency of the ear sink and the mouth source right now, in ms (PulseAudio's own buffering). */
  configuredLatency(): { earMs: number | null; mouthMs: number | null } {
    const find = (kind: 'sinks' | 'sources', name: string) => {
      const block = this.pactl('list', kind).out.split(/\n(?=\S)/).find((b) => b.includes(`Name: ${name}\n`));
      const m = block && /Latency: [\d.]+ usec, configured ([\d.]+) usec/.exec(block);
      return m ? Number(m[1]) / 1000 : null;
    };
    return { earMs: find('sinks', 'ear'), mouthMs: find('sources', 'mouth') };
  }

  async stop(): Promise<void> {
    const d = this.daemon;
    if (d.exitCode === null && d.signalCode === null) {
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      const timer = setTimeout(() => d.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
