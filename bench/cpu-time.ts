// CPU time at the resolution the live benchmarks need: one process's (all its threads,
// nanoseconds) and the whole machine's busy time. /proc/<pid>/stat (process-cpu.ts) counts
// in 10 ms ticks, too coarse for tcpdump, which spends ~15 ms on a 3-second run at
// 100 000 frames/s; the scheduler's run time per thread (/proc/<pid>/task/<tid>/schedstat,
// the same quantity stat's utime+stime are scaled to) is exact. Processes in network
// namespaces are read the same way: /proc is shared. The machine's busy time comes from
// /proc/stat, but not from its busy fields (see sampleMachineCpu).
import fs from 'node:fs';
import os from 'node:os';

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

/** The machine's idle time so far and when it was read. */
export interface MachineCpuSample {
  /** performance.now() at the read, in seconds. */
  atS: number;
  /** Seconds all CPUs together have been idle, waiting for I/O or stolen by the hypervisor. */
  idleS: number;
}

/**
 * Reads the `cpu` line of /proc/stat. Busy time (user + nice + system + irq + softirq) is
 * taken as the complement of idle + iowait + steal: the busy fields are samples of the
 * 250 Hz tick, and a sender that sleeps until each batch of frames is due (dicap gen at a
 * fixed rate) is asleep at almost every tick — they showed 0.06 s for 0.96 s that its
 * thread ran. Idle time is measured exactly (the kernel stops the tick when a CPU idles
 * and times the idle period), so what is not idle is the busy time, to the 10 ms unit of
 * the file.
 */
export function sampleMachineCpu(): MachineCpuSample {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const atS = performance.now() / 1000;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const [idle, iowait, steal] = [fields[3]!, fields[4]!, fields[7] ?? 0];
  return { atS, idleS: (idle + iowait + steal) / USER_HZ };
}

/**
 * CPU seconds the whole machine was busy between two samples, all CPUs together. Kernel
 * work in softirq, such as copying a received frame into a capture ring, is in it wherever
 * it ran; per process it is charged to whichever task the CPU happened to be running
 * (often the sender), or to ksoftirqd.
 */
export function machineBusySeconds(from: MachineCpuSample, to: MachineCpuSample): number {
  return (to.atS - from.atS) * os.cpus().length - (to.idleS - from.idleS);
}

/** Run seconds of every user-space thread on the machine outside some network namespaces, by "pid/tid". */
export type ThreadRunTimes = Map<string, number>;

/**
 * Run seconds so far of every thread of every user-space process whose network namespace
 * is not one of `own` (namespace inodes, see netNamespaceInode): the work of others on a
 * shared machine, and of the benchmark itself, which runs in the root namespace. Kernel
 * threads (ksoftirqd, kworkers) are left out: they may be doing the experiment's work.
 */
export function threadRunTimesOutside(own: ReadonlySet<number>): ThreadRunTimes {
  const times: ThreadRunTimes = new Map();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      if (pid === '2' || ppid === '2') continue; // kthreadd and its kernel threads
      const ns = /\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`));
      if (ns && own.has(Number(ns[1]))) continue;
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        times.set(
          `${pid}/${tid}`,
          Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9,
        );
      }
    } catch {
      // the process ended while being read
    }
  }
  return times;
}

/**
 * Seconds the threads ran between two readings: threads in both count their difference,
 * threads that started in between all of their time. Threads that ended in between are
 * missed (a short compiler run of somebody else stays in the machine's busy time).
 */
export function runSecondsBetween(from: ThreadRunTimes, to: ThreadRunTimes): number {
  let seconds = 0;
  for (const [thread, run] of to) seconds += run - (from.get(thread) ?? 0);
  return seconds;
}

/** The inode of a named network namespace (`ip netns add NAME`), as /proc/<pid>/ns/net shows it. */
export function netNamespaceInode(name: string): number {
  return fs.statSync(`/run/netns/${name}`).ino;
}
