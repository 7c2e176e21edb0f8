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

/**
 * Microseconds of CPU process `pid` has spent (user + system, all its threads; Linux), or null
 * when /proc cannot tell (gone, or not Linux). Counted in USER_HZ ticks (10 ms), like the above.
 */
export function processCpuMicros(pid: number): number | null {
  const t = processTimes(pid);
  return t && t.user + t.system;
}

/** The same, split: user and system (kernel) time, µs. */
export function processTimes(pid: number): { user: number; system: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields that count come after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) ".
    return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
  } catch {
    return null;
  }
}
