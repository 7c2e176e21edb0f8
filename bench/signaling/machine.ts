import { readFileSync } from 'node:fs';

/** Microseconds of CPU the whole machine has spent running processes since boot (Linux), or null elsewhere. */
export function machineBusyMicros(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq: interrupts are left out, as loopback traffic
    // is processed there and would count the bench's own packets as someone else's work.
    const [user, nice, system] = fields;
    // /proc/stat counts in USER_HZ, which is 100 on every mainstream Linux build.
    return (user + nice + system) * 10_000;
  } catch {
    return null;
  }
}

/** The soft limit on open files (Linux); every process we fork inherits it. */
export function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}
