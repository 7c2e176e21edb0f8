/** The processes a process started, by program name: to kill a device's program as a failing device would die. */
import { execFileSync } from 'node:child_process';

export function childrenOf(pid: number, program: string): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === program)
    .map(([p]) => Number(p));
}
