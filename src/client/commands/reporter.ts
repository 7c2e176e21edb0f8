/**
 * How a scripted run tells what happens. Standard output carries data only: with --json, one
 * JSON object a line for every event; without, just what a script would read (the user list,
 * the doctor's report). Progress and problems are readable lines on standard error.
 */
export class Reporter {
  private readonly t0 = Date.now();

  constructor(
    private readonly json: boolean,
    private readonly verbose = false,
  ) {}

  /** What the command was asked for: stdout in both modes. */
  data(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) this.line(event, fields);
    else process.stdout.write(text + '\n');
  }

  /** Progress: a JSON event, or a readable line on stderr. */
  event(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) this.line(event, fields);
    else process.stderr.write(text + '\n');
  }

  /** A remark for a person (stderr in text mode); JSON consumers get it as fields of an event instead. */
  note(text: string): void {
    if (!this.json) process.stderr.write(text + '\n');
  }

  /** Periodic figures: JSON consumers want them, a person reading lines does not. */
  quiet(event: string, fields: Record<string, unknown>): void {
    if (this.json) this.line(event, fields);
  }

  /** Something went wrong; `detail` (e.g. a device's own multi-line text) shows with --verbose. */
  problem(event: string, fields: Record<string, unknown>, text: string, detail?: string): void {
    if (this.json) this.line(event, this.verbose && detail ? { ...fields, detail } : fields);
    else process.stderr.write(`parley: ${text}\n${this.verbose && detail && detail !== text ? indent(detail) : ''}`);
  }

  private line(event: string, fields: Record<string, unknown>): void {
    process.stdout.write(JSON.stringify({ event, t: Date.now() - this.t0, ...fields }) + '\n');
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}\n`)
    .join('');
}
