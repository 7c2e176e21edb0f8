/**
 * A sink that plays through a child process (the speaker addon's worker, aplay): a device that
 * aborts or hangs takes only the child with it. This holds what both share: opening once,
 * knowing the device is open only when the child says so, turning the child's death into a
 * one-line AudioError (its stderr kept as detail), and letting it play out on close.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { alsaReason } from '../alsa';
import { AudioError } from '../errors';
import type { AudioSink, Frame } from '../types';

/** How long a closing child may take to play what it holds before it is killed. */
const CLOSE_GRACE_MS = 2000;

/** closed → opening → open → closing → closed; a child that exits while open is an 'error'. */
type ChildSinkState =
  | { kind: 'closed' }
  | { kind: 'opening'; child: ChildProcess; done: Promise<void>; abort: (err: AudioError) => void }
  | { kind: 'open'; child: ChildProcess }
  | { kind: 'closing'; done: Promise<void> };

export abstract class ChildSink extends EventEmitter implements AudioSink {
  abstract readonly description: string;
  /** How messages name this output, e.g. "the speaker (aplay)". */
  protected abstract readonly label: string;
  private state: ChildSinkState = { kind: 'closed' };
  /** The child's recent stderr, and anything it reported otherwise. */
  private stderr = '';

  /** The AudioError to refuse open() with when what the child needs is not installed. */
  protected abstract missing(): AudioError | undefined;
  /** Starts the child; it calls `ready()` once the device is open, or readyIn() says so. */
  protected abstract spawnChild(ready: () => void): ChildProcess;
  /** Whether what the child has written on stderr so far says the device is open. */
  protected readyIn(_stderr: string): boolean {
    return false;
  }
  protected abstract readonly openTimeoutMs: number;
  abstract write(frame: Frame): void;

  /** Opens the device; idempotent. Rejects with an `output_device` AudioError. */
  open(): Promise<void> {
    const s = this.state;
    if (s.kind === 'opening') return s.done;
    if (s.kind === 'open') return Promise.resolve();
    if (s.kind === 'closing') return s.done.then(() => this.open());
    const missing = this.missing();
    if (missing) return Promise.reject(missing);
    this.stderr = '';
    let child!: ChildProcess;
    let settle!: (err?: AudioError) => void;
    const done = new Promise<void>((resolve, reject) => {
      let settled = false;
      settle = (err?: AudioError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const current = this.state.kind === 'opening' && this.state.child === child;
        if (!err && current) {
          // What the child said while opening is not news once it works.
          this.stderr = '';
          this.state = { kind: 'open', child };
          return resolve();
        }
        if (current) this.state = { kind: 'closed' };
        child.kill('SIGKILL');
        reject(err ?? this.error('would not open', 'closed before the device opened'));
      };
      const timer = setTimeout(() => settle(this.error('would not open', `the device did not open within ${this.openTimeoutMs} ms`)), this.openTimeoutMs);
      child = this.spawnChild(() => settle());
      child.stdin?.on('error', () => {}); // a dead child is reported by 'exit'
      child.stderr?.on('data', (chunk: Buffer) => {
        this.note(chunk.toString());
        if (this.state.kind === 'opening' && this.state.child === child && this.readyIn(this.stderr)) settle();
      });
      child.on('error', (err) => settle(this.error('would not open', `could not start: ${err.message}`)));
      child.on('exit', (code, signal) => {
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        settle(this.error('would not open', how));
        if (this.state.kind === 'open' && this.state.child === child) {
          this.state = { kind: 'closed' };
          // Nobody listening (opened ahead of a call): the next open() starts afresh.
          if (this.listenerCount('error') > 0) this.emit('error', this.error('stopped', how));
        }
      });
    });
    this.state = { kind: 'opening', child, done, abort: settle };
    return done;
  }

  get isOpen(): boolean {
    return this.state.kind === 'open';
  }

  /** The child's stdin while the device is open. */
  protected get input(): Writable | undefined {
    const stdin = this.state.kind === 'open' ? this.state.child.stdin : undefined;
    return stdin && !stdin.destroyed ? stdin : undefined;
  }

  /** Adds to what the child has said, for the error's detail. */
  protected note(text: string): void {
    this.stderr = (this.stderr + text).slice(-4000);
  }

  /** Hook run just before the child's input ends on close (to flush a queue). */
  protected beforeEnd(_stdin: Writable): void {}

  /** Lets the child play what it holds and exit; kills it if it hangs. Idempotent. */
  close(): Promise<void> {
    const s = this.state;
    if (s.kind === 'closed') return Promise.resolve();
    if (s.kind === 'closing') return s.done;
    const child = s.child;
    if (s.kind === 'opening') {
      s.done.catch(() => undefined);
      s.abort(this.error('would not open', 'closed before the device opened'));
    }
    const done = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (s.kind === 'open' && child.stdin && !child.stdin.destroyed) {
        this.beforeEnd(child.stdin);
        child.stdin.end();
      }
    });
    this.state = { kind: 'closing', done };
    void done.then(() => {
      if (this.state.kind === 'closing' && this.state.done === done) this.state = { kind: 'closed' };
    });
    return done;
  }

  private error(what: 'would not open' | 'stopped', how: string): AudioError {
    const said = this.stderr.trim();
    const reason = alsaReason(said) ?? how;
    return new AudioError('output_device', `${this.label} ${what}: ${reason}`, { detail: `${this.label}: ${how}${said ? `\n${said}` : ''}` });
  }
}
