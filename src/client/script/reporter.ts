/**
 * How a scripted run tells what happens: one JSON object a line with --json, else a readable
 * line. Both go to stdout; problems also go to stderr in readable mode.
 */
export class Reporter {
  private readonly t0 = Date.now();

  constructor(private readonly json: boolean) {}

  event(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) process.stdout.write(JSON.stringify({ event, t: Date.now() - this.t0, ...fields }) + '\n');
    else process.stdout.write(text + '\n');
  }

  /** Periodic figures: JSON consumers want them, a person reading lines does not. */
  quiet(event: string, fields: Record<string, unknown>): void {
    if (this.json) this.event(event, fields, '');
  }

  problem(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) this.event(event, fields, text);
    else process.stderr.write(`parley: ${text}\n`);
  }
}
