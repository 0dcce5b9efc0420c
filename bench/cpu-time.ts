// CPU time at the resolution the live benchmarks need: one process's (all its threads,
// nanoseconds) and the whole machine's busy time. /proc/<pid>/stat (process-cpu.ts) counts
// in 10 ms ticks, too coarse for tcpdump, which spends ~15 ms on a 3-second run at
// 100 000 frames/s; the scheduler's run time per thread (/proc/<pid>/task/<tid>/schedstat,
// the same quantity stat's utime+stime are scaled to) is exact. Processes in network
// namespaces are read the same way: /proc is shared.
import fs from 'node:fs';

const USER_HZ = 100; // units of /proc/stat

/**
 * Seconds the threads of process `pid` have run so far, or undefined when it has ended.
 * Counts the threads alive now: the benchmarks measure processes whose threads live as
 * long as they do.
 */
export function processRunSeconds(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between readdir and read: its time is gone with it
    }
  }
  return ns / 1e9;
}

/** Whether process `pid` has a thread named `name` (/proc/<pid>/task/<tid>/comm) right now. */
export function hasThreadNamed(pid: number, name: string): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).some((tid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * CPU seconds the whole machine has been busy since boot, all CPUs together: user + nice +
 * system + irq + softirq of /proc/stat's `cpu` line (idle, iowait and steal left out).
 * Kernel work in softirq, such as copying a received frame into a capture ring, is here
 * wherever it ran; per process it is charged to whichever task the CPU happened to be
 * running (often the sender), or to ksoftirqd.
 */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq!) / USER_HZ;
}
