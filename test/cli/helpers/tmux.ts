/**
 * A real pseudo-terminal for the interactive client: each TmuxScreen runs one command in a
 * private tmux server, types keys into it and reads the screen back.
 */
import { execFileSync } from 'node:child_process';
import { waitUntil } from '../../helpers/wait';
import { privateConfig } from './parley';

let counter = 0;

export class TmuxScreen {
  private readonly socket: string;
  private alive = true;

  private constructor(readonly label: string) {
    this.socket = `parley-test-${process.pid}-${++counter}-${label}`;
  }

  /** Starts `argv` in a 120×40 terminal. */
  static start(label: string, argv: string[], env: Record<string, string> = {}): TmuxScreen {
    const t = new TmuxScreen(label);
    // A private config location: a developer's own config file must not change what a test sees,
    // and each run is a new user (its own identity key, nobody remembered from another test).
    const all = { PARLEY_CONFIG: privateConfig(), ...env };
    const envArgs = Object.entries(all).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    // The wrapper prints the exit status on the screen; remain-on-exit keeps the pane after
    // the command exits, set in the same tmux call so even a quick exit is kept.
    const command = `${argv.map(shellQuote).join(' ')}; echo "[exit $?]"`;
    t.tmux('new-session', '-d', '-x', '120', '-y', '40', ...envArgs, command, ';', 'set-option', '-w', '-t', '0', 'remain-on-exit', 'on');
    return t;
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', '0');
  }

  /** Types keys as tmux names them: 'Enter', 'Escape', 'C-c', or literal text. */
  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', '0', ...keys);
  }

  /** Types literal text (no key-name interpretation). */
  type(text: string): void {
    this.tmux('send-keys', '-t', '0', '-l', text);
  }

  /** Polls the screen until `pattern` shows, failing with the last screen after `timeoutMs`. */
  async waitFor(pattern: string | RegExp, timeoutMs = 20_000): Promise<string> {
    let last = '';
    try {
      return await waitUntil(
        () => {
          last = this.screen();
          return (typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last)) ? last : undefined;
        },
        `${String(pattern)} shows`,
        timeoutMs,
        100,
      );
    } catch {
      throw new Error(`${this.label}: timed out waiting for ${String(pattern)}; the screen:\n${last}`);
    }
  }

  /** The command's exit status once it has exited. */
  async waitExit(timeoutMs = 20_000): Promise<number> {
    const screen = await this.waitFor(/\[exit \d+\]/, timeoutMs);
    return Number(/\[exit (\d+)\]/.exec(screen)![1]);
  }

  /** Closes the terminal (its processes get SIGHUP) and stops the tmux server. */
  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
