/**
 * One PulseAudio stream through the binding, as the sink and the source both use it: opening
 * (resolved when the server takes the stream, rejected with the server's reason), failure
 * after that as a single 'error', and closing (resolved once the stream's thread is done).
 */
import { AudioError, type AudioErrorCode } from './errors';
import { pulseBinding, type PulseBinding, type PulseHandle, type PulseStreamOptions } from './pulse-binding';

/** How long the server may take to accept the stream. */
const OPEN_TIMEOUT_MS = 5000;
/** How long a closing stream may take (playing out what it holds) before it is let go. */
const CLOSE_GRACE_MS = 2000;

export interface PulseStreamEvents {
  data?(bytes: Buffer): void;
  /** The stream failed after it opened. */
  failed(err: AudioError): void;
}

/** The env's PULSE_SERVER and PULSE_SINK/PULSE_SOURCE, which libpulse would read from the process's own. */
export function pulseTarget(env: NodeJS.ProcessEnv | undefined, playback: boolean, device: string | undefined): { server?: string; device?: string } {
  return { server: env?.PULSE_SERVER, device: device ?? (playback ? env?.PULSE_SINK : env?.PULSE_SOURCE) };
}

export class PulseStream {
  private handle: PulseHandle | undefined;
  private closed: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;

  private constructor(
    private readonly binding: PulseBinding,
    private readonly label: string,
    private readonly code: AudioErrorCode,
  ) {}

  /** Connects; rejects with an AudioError naming the server's reason. */
  static open(opts: PulseStreamOptions, label: string, code: AudioErrorCode, events: PulseStreamEvents): Promise<PulseStream> {
    const binding = pulseBinding(code);
    if (binding instanceof AudioError) return Promise.reject(new AudioError(code, `${label} would not open: ${binding.message}`, { detail: binding.detail }));
    const stream = new PulseStream(binding, label, code);
    return new Promise((resolve, reject) => {
      let state: 'opening' | 'open' | 'failed' = 'opening';
      let reason = '';
      const timer = setTimeout(() => {
        state = 'failed';
        stream.close(false);
        reject(new AudioError(code, `${label} would not open: PulseAudio did not answer within ${OPEN_TIMEOUT_MS} ms`));
      }, OPEN_TIMEOUT_MS);
      const closed = new Promise<void>((r) => (stream.onClosed = r));
      stream.closed = closed;
      try {
        stream.handle = binding.open(opts, (type, arg) => {
          if (type === 'data' && state === 'open') events.data?.(arg as Buffer);
          else if (type === 'open' && state === 'opening') {
            state = 'open';
            clearTimeout(timer);
            resolve(stream);
          } else if (type === 'error') {
            reason = String(arg);
            if (state === 'open') events.failed(stream.error('stopped', reason));
          } else if (type === 'closed') {
            if (state === 'opening') {
              clearTimeout(timer);
              reject(stream.error('would not open', reason || 'closed before it opened'));
            }
            state = 'failed';
            stream.finish();
          }
        });
      } catch (err) {
        clearTimeout(timer);
        reject(new AudioError(code, `${label} would not open: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  private droppedBytes = 0;

  /** Playback, so far: bytes dropped (a full queue, standing delay cut), stalls ended, times it ran dry; and the margin it keeps now. */
  counters(): { droppedBytes: number; stalls: number; underruns: number; marginMs: number } {
    const now = this.handle && this.binding.latency(this.handle);
    return { droppedBytes: this.droppedBytes, stalls: now?.stalls ?? 0, underruns: now?.underruns ?? 0, marginMs: (now?.marginUs ?? 0) / 1000 };
  }

  /** Queues audio for playback. */
  write(bytes: Buffer): void {
    if (!this.handle) return;
    this.droppedBytes = this.binding.write(this.handle, bytes);
  }

  /** The delay the server reports plus what waits to be written, in ms; undefined until measured. */
  latencyMs(bytesPerMs: number): number | undefined {
    if (!this.handle) return undefined;
    const { deviceUs, queuedBytes } = this.binding.latency(this.handle);
    return deviceUs < 0 ? undefined : deviceUs / 1000 + queuedBytes / bytesPerMs;
  }

  /** Stops the stream (playing out what it holds when `drain`); resolves once its thread is done. */
  close(drain: boolean): Promise<void> {
    const handle = this.handle;
    if (!handle) return Promise.resolve();
    this.binding.close(handle, drain);
    // A server that hangs keeps the thread: after the grace period the stream is let go.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(() => {
        if (this.handle === handle) this.binding.unref(handle);
        r();
      }, CLOSE_GRACE_MS);
    });
    return Promise.race([this.closed, grace]).finally(() => clearTimeout(timer));
  }

  private finish(): void {
    if (this.handle) this.binding.release(this.handle);
    this.handle = undefined;
    this.onClosed?.();
  }

  private error(what: 'would not open' | 'stopped', reason: string): AudioError {
    return new AudioError(this.code, `${this.label} ${what}: ${reason.replace(/^could not connect: /, '')}`, { detail: `PulseAudio: ${reason}` });
  }
}
