// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
import fs from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
