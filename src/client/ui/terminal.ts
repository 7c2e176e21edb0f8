/**
 * The terminal itself: raw-mode keys in, whole screens out, redrawn in place with ANSI
 * escapes. Without a terminal (piped input or output) it still works: keys are read from the
 * stream and each new screen is printed once, without escapes.
 */
import readline from 'node:readline';
import type { Key } from './state';

const ESC = '\x1b[';
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export class Terminal {
  private last = '';
  private active = false;
  private readonly tty: boolean;
  private onKeypress?: (str: string | undefined, key: readline.Key | undefined) => void;

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
  ) {
    this.tty = Boolean(output.isTTY);
    // A terminal that went away makes writes fail (EIO, EPIPE); the input side reports the end.
    output.on('error', () => undefined);
  }

  /** Starts reading keys; `onEnd` fires once when input ends or fails (the terminal went away). */
  start(onKey: (key: Key) => void, onEnd: () => void): void {
    this.active = true;
    readline.emitKeypressEvents(this.input);
    if (this.input.isTTY) this.input.setRawMode(true);
    this.onKeypress = (str, key) => {
      const k = decodeKey(str, key);
      if (k) onKey(k);
    };
    this.input.on('keypress', this.onKeypress);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      onEnd();
    };
    this.input.once('end', end);
    this.input.once('error', end);
    this.input.resume();
    if (this.tty) this.write(`${ESC}2J${ESC}H`);
  }

  /** Shows a screen. `live` redraws (the call screen's statistics) are skipped without a terminal. */
  draw(lines: string[], live = false): void {
    if (!this.active) return;
    if (this.tty) {
      const text = `${ESC}H${lines.map((l) => l + `${ESC}K`).join('\n')}${ESC}J`;
      if (text !== this.last) this.write(text);
      this.last = text;
      return;
    }
    if (live) return;
    const text = lines.join('\n').replace(ANSI, '');
    if (text !== this.last) this.write(text + '\n');
    this.last = text;
  }

  /** Gives the terminal back as it was: cooked mode, input released, cursor on a fresh line. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    if (this.onKeypress) this.input.off('keypress', this.onKeypress);
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
    if (this.tty) this.write('\n');
  }

  private write(s: string): void {
    if (!this.output.destroyed && this.output.writable) this.output.write(s);
  }
}

function decodeKey(str: string | undefined, key: readline.Key | undefined): Key | undefined {
  // Raw mode turns Ctrl-C and Ctrl-D into plain bytes; both mean "leave".
  if (key?.ctrl && (key.name === 'c' || key.name === 'd')) return { name: 'ctrl-c' };
  switch (key?.name) {
    case 'return':
    case 'enter':
      return { name: 'enter' };
    case 'backspace':
      return { name: 'backspace' };
    case 'escape':
      return { name: 'escape' };
  }
  if (str && str.length === 1 && str >= ' ' && str !== '\x7f') return { name: 'char', text: str };
  return undefined;
}
