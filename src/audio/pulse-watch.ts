/**
 * Notices a PulseAudio sink or source going away (unplugged, its module unloaded). The server
 * moves the streams it carried to its default device by itself, so the program playing or
 * recording sees no error: only the server's events tell that the device has changed.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface PulseWatch {
  stop(): void;
}

export interface GoneInfo {
  /** The server's default device now, where the stream went; undefined if it would not say. */
  movedTo?: string;
}

const KIND = { sink: 'sinks', source: 'sources' } as const;

function pactl(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('pactl', args, { env, timeout: 3000 }, (error, out) => resolve(error ? undefined : String(out)));
  });
}

/**
 * Calls `onGone` once when the sink or source `name` no longer exists. Watching is best effort:
 * without pactl or a server it watches nothing. `stop` ends it.
 */
export function watchPulseDevice(kind: 'sink' | 'source', name: string, env: NodeJS.ProcessEnv, onGone: (info: GoneInfo) => void): PulseWatch {
  let stopped = false;
  const child = spawn('pactl', ['subscribe'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  const lines = createInterface({ input: child.stdout });
  const removal = new RegExp(`^Event 'remove' on ${kind} #\\d+`);
  lines.on('line', (line) => {
    if (stopped || !removal.test(line)) return;
    void pactl(['list', 'short', KIND[kind]], env).then(async (list) => {
      if (stopped || list === undefined || list.split('\n').some((l) => l.split('\t')[1] === name)) return;
      stop();
      const movedTo = (await pactl([`get-default-${kind}`], env))?.trim() || undefined;
      onGone({ movedTo });
    });
  });
  const stop = () => {
    if (stopped) return;
    stopped = true;
    lines.close();
    child.kill();
  };
  return { stop };
}
