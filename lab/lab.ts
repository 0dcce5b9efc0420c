// A lab as an object: build one (labUp) or open one that exists (openLab), run commands
// and long-running processes on its hosts, replay captures into its wire, read its
// counters, and take it down. The CLI (main.ts), tests, benchmarks and `lab demo` all use
// this API.
//
// Lifetime: a lab built by labUp() is removed when the process that built it exits (also
// on SIGINT/SIGTERM), unless keepAfterExit is set (`dicap lab up` sets it). Processes
// started with lab.spawn() are stopped when the process that started them exits. A
// process killed with SIGKILL cleans nothing; the next labUp() or `dicap lab down` with
// the same id removes what it left, from the state files (state.ts).
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { DicapError } from '../common/errors.js';
import {
  inNamespace,
  readInterfaceStatistics,
  run,
  spawnInNamespace,
  type RunOptions,
  type SpawnInNamespaceOptions,
} from './netns.js';
import { replayOnLab, type ReplayOptions, type ReplayResult } from './replay.js';
import {
  forgetProcess,
  identityOf,
  isRunning,
  listLabIds,
  readLabRecord,
  recordProcess,
  signalProcessGroup,
  stopProcessesSync,
  teardownLabSync,
  writeLabRecord,
  type LabRecord,
  type ProcessIdentity,
  type TeardownReport,
} from './state.js';
import {
  buildTopology,
  captureHostsOf,
  hostNamed,
  planTopology,
  wireSendersOf,
  type LabHost,
  type LabTopology,
  type TopologyOptions,
} from './topology.js';

export interface LabUpOptions extends Partial<TopologyOptions> {
  /** Leave the lab in place when this process exits (default false: remove it). */
  keepAfterExit?: boolean;
  /**
   * Remove the lab on SIGINT/SIGTERM, then die of the signal unless the program has its
   * own handler for it (default true). Programs that shut down in order themselves pass
   * false and call lab.down().
   */
  handleSignals?: boolean;
  /** Receives one line per build step (default: nothing is printed). */
  onProgress?: (line: string) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running process on a lab host, started by lab.spawn(). */
export class LabProcess {
  /** Resolves when the process has ended. */
  readonly exited: Promise<ExitInfo>;
  private ended = false;

  constructor(
    readonly host: string,
    readonly child: ChildProcess,
    readonly identity: ProcessIdentity,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.ended = true;
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.identity.pid;
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Sends `signal` to the process group, and SIGKILL after graceMs if it is still running. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<ExitInfo> {
    if (this.ended) return this.exited;
    signalProcessGroup(this.pid, signal);
    const timer = setTimeout(() => signalProcessGroup(this.pid, 'SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Counters of one capture host's passive interface, from /sys/class/net/<if>/statistics in its namespace. */
export interface PassiveCounters {
  host: string;
  namespace: string;
  interface: string;
  /** Frames the mirror delivered to the interface. */
  rxPackets: number;
  /** Their bytes. An outer VLAN tag is not counted: the kernel moves it into metadata on receive (see README). */
  rxBytes: number;
  /**
   * Frames the kernel dropped after receiving them: backlog overflow (loss before any
   * capture socket) but also frames no protocol wanted after the capture taps had them
   * (unknown EtherTypes, VLAN-tagged frames without a VLAN interface). Not a capture loss
   * by itself; compare rxPackets with what was sent.
   */
  rxDropped: number;
  /** Copies the mirror could not hand to this interface (tx_dropped of its mirror port in the wire namespace). */
  mirrorTxDropped: number;
}

/** Counters of one interface where frames enter the wire (the source's or a coordinator's injection point). */
export interface WireIngressCounters {
  host: string;
  /** The ingress port in the wire namespace. */
  interface: string;
  rxPackets: number;
  rxBytes: number;
  /** Frames lost before the mirror saw them (backlog full on the wire CPU). */
  rxDropped: number;
}

// Labs of this process, for the exit and signal handlers.
const liveLabs = new Set<Lab>();

export class Lab {
  readonly id: string;
  private readonly processes = new Set<LabProcess>();

  constructor(
    readonly topology: LabTopology,
    /** Whether this process removes the lab when it exits (it built the lab and does not keep it). */
    private removeOnExit: boolean,
    readonly handlesSignals: boolean,
  ) {
    this.id = topology.id;
    liveLabs.add(this);
    installProcessHandlers();
  }

  /** From now on, leave the lab in place when this process exits (processes it started are still stopped). */
  keepAfterExit(): void {
    this.removeOnExit = false;
  }

  host(name: string): LabHost {
    return hostNamed(this.topology, name);
  }

  /** Runs argv on `host` to completion and resolves with its stdout; rejects with one line naming the command. */
  exec(host: string, argv: readonly string[], options: RunOptions = {}): Promise<string> {
    return run(inNamespace(this.host(host).namespace, argv), options);
  }

  /**
   * Starts `command args…` on `host` and tracks it: it is recorded in the lab's state, and
   * stopped when it is stopped, when lab.down() runs or when this process exits. stdio
   * defaults to ['ignore', 'pipe', 'pipe']: read or ignore the pipes, or pass 'ignore'.
   */
  spawn(
    host: string,
    command: string,
    args: readonly string[] = [],
    options: SpawnInNamespaceOptions = {},
  ): LabProcess {
    if (!liveLabs.has(this))
      throw new DicapError('DICAP_ERR_LAB_NOT_UP', `lab ${this.id} is down; nothing can be started in it`);
    const target = this.host(host);
    const child = spawnInNamespace(target.namespace, command, args, options);
    const identity = child.pid !== undefined ? identityOf(child.pid) : undefined;
    if (child.pid === undefined || identity === undefined) {
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `could not start \`${command}\` on lab host ${host}: the process ended at once (is \`ip\` installed?)`,
      );
    }
    recordProcess(this.id, {
      ...identity,
      namespace: target.namespace,
      host,
      command: [command, ...args].join(' '),
      spawnedBy: process.pid,
    });
    const labProcess = new LabProcess(host, child, identity);
    this.processes.add(labProcess);
    void labProcess.exited.then(() => {
      this.processes.delete(labProcess);
      forgetProcess(this.id, identity.pid);
    });
    return labProcess;
  }

  /** Replays capture files into the wire from the source host with tcpreplay (see replay.ts). */
  replay(files: readonly string[], options: ReplayOptions = {}): Promise<ReplayResult> {
    return replayOnLab(this, files, options);
  }

  /** Counters of every capture host's passive interface, capture1 first. */
  async passiveCounters(): Promise<PassiveCounters[]> {
    const captures = captureHostsOf(this.topology);
    const wire = this.topology.wire.namespace;
    const [passive, mirror] = await Promise.all([
      Promise.all(
        captures.map((h) =>
          readInterfaceStatistics({ name: h.passive.interface, namespace: h.namespace }, [
            'rx_packets',
            'rx_bytes',
            'rx_dropped',
          ]),
        ),
      ),
      Promise.all(
        captures.map((h) =>
          readInterfaceStatistics({ name: h.passive.mirrorPort, namespace: wire }, ['tx_dropped']),
        ),
      ),
    ]);
    return captures.map((h, i) => {
      const [rxPackets, rxBytes, rxDropped] = passive[i]!;
      return {
        host: h.name,
        namespace: h.namespace,
        interface: h.passive.interface,
        rxPackets: rxPackets!,
        rxBytes: rxBytes!,
        rxDropped: rxDropped!,
        mirrorTxDropped: mirror[i]![0]!,
      };
    });
  }

  /**
   * passiveCounters() once they have not changed for quietMs (frames still queued in the
   * kernel have arrived), or after timeoutMs, whichever comes first.
   */
  async settledPassiveCounters(quietMs = 200, timeoutMs = 5000): Promise<PassiveCounters[]> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.passiveCounters();
    let quietSince = Date.now();
    while (Date.now() < deadline && Date.now() - quietSince < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = await this.passiveCounters();
      if (JSON.stringify(now) !== JSON.stringify(last)) {
        last = now;
        quietSince = Date.now();
      }
    }
    return last;
  }

  /** Counters of the interfaces where frames enter the wire: the source first, then the coordinators' injection points. */
  async wireCounters(): Promise<WireIngressCounters[]> {
    const senders = wireSendersOf(this.topology);
    const counts = await Promise.all(
      senders.map((h) =>
        readInterfaceStatistics({ name: h.wire.ingressPort, namespace: this.topology.wire.namespace }, [
          'rx_packets',
          'rx_bytes',
          'rx_dropped',
        ]),
      ),
    );
    return senders.map((h, i) => ({
      host: h.name,
      interface: h.wire.ingressPort,
      rxPackets: counts[i]![0]!,
      rxBytes: counts[i]![1]!,
      rxDropped: counts[i]![2]!,
    }));
  }

  /** Removes the lab: every process started in it (by any process), then its namespaces and state. */
  async down(): Promise<TeardownReport> {
    liveLabs.delete(this);
    return teardownLabSync(this.id);
  }

  /** What the exit handler does: stop this process's processes, and remove the lab if this process owns it. */
  cleanUpAtExit(): void {
    liveLabs.delete(this);
    if (this.removeOnExit) {
      teardownLabSync(this.id);
      return;
    }
    const mine = [...this.processes].filter((p) => p.running);
    stopProcessesSync(mine.map((p) => p.identity));
    for (const p of mine) forgetProcess(this.id, p.pid);
  }
}

// ---- building and opening ------------------------------------------------------------------

/**
 * Builds a lab. Leftovers of an earlier lab with the same id whose builder has exited
 * (crashed, or `dicap lab up` that kept it) are removed first; a lab whose builder still
 * runs is refused (DICAP_ERR_LAB_BUSY). If building fails, everything made so far is
 * removed and the error (one line naming the failed command) is thrown.
 */
export async function labUp(options: LabUpOptions = {}): Promise<Lab> {
  const topology = planTopology(options);
  const cpus = os.availableParallelism();
  if (topology.wire.cpu >= cpus) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `wire CPU ${topology.wire.cpu} does not exist (this machine has CPUs 0 to ${cpus - 1}); give --wire-cpu between 0 and ${cpus - 1}`,
    );
  }
  const progress = options.onProgress ?? ((): void => {});
  const id = topology.id;
  const me = identityOf(process.pid)!;

  const earlier = readLabRecord(id);
  if (earlier) {
    if (isRunning(earlier.owner)) {
      const who = earlier.owner.pid === process.pid ? 'this process' : `pid ${earlier.owner.pid}`;
      throw new DicapError(
        'DICAP_ERR_LAB_BUSY',
        `lab ${id} is ${earlier.phase === 'up' ? 'up and in use' : 'being built'} by ${who}; take it down first (dicap lab down --id ${id}) or use another --id`,
      );
    }
    progress(
      earlier.phase === 'up' && earlier.keepAfterExit
        ? `lab ${id}: replacing the lab ${id} that pid ${earlier.owner.pid} built and kept`
        : `lab ${id}: removing what lab ${id} of pid ${earlier.owner.pid} (no longer running) left behind`,
    );
    const report = teardownLabSync(id);
    if (report.problems.length > 0)
      throw new DicapError(
        'DICAP_ERR_LAB_TEARDOWN',
        `lab ${id}: could not remove leftovers: ${report.problems.join('; ')}`,
      );
  }

  const record: LabRecord = {
    format: 1,
    id,
    owner: me,
    keepAfterExit: options.keepAfterExit ?? false,
    phase: 'building',
    createdAt: new Date().toISOString(),
    namespaces: [],
    topology: null,
  };
  writeLabRecord(record);
  // Until the lab is built, this process owns it and removes it if it dies of a signal.
  const lab = new Lab(topology, true, options.handleSignals ?? true);
  try {
    await buildTopology(topology, {
      beforeNamespace(name) {
        record.namespaces.push(name);
        writeLabRecord(record);
      },
      namespaceNotCreated(name) {
        record.namespaces = record.namespaces.filter((n) => n !== name);
        writeLabRecord(record);
      },
      progress,
    });
  } catch (error) {
    progress(`lab ${id}: build failed, removing what was made`);
    await lab.down();
    throw error;
  }
  record.phase = 'up';
  record.topology = topology;
  writeLabRecord(record);
  if (record.keepAfterExit) lab.keepAfterExit();
  return lab;
}

/**
 * Opens a lab that is up, built by this or another process (for `dicap lab status|replay|down`,
 * agents and benchmarks). Without an id: the only lab there is. Processes this Lab object
 * starts are stopped when this process exits; the lab itself stays.
 */
export function openLab(id?: string): Lab {
  const labId = id ?? onlyLabId(listLabIds());
  const record = readLabRecord(labId);
  if (!record) {
    throw new DicapError(
      'DICAP_ERR_LAB_NOT_UP',
      `lab ${labId} is not up; start it with \`dicap lab up --id ${labId}\``,
    );
  }
  if (record.phase !== 'up' || !record.topology) {
    throw new DicapError(
      'DICAP_ERR_LAB_NOT_UP',
      isRunning(record.owner)
        ? `lab ${labId} is still being built by pid ${record.owner.pid}; wait for it`
        : `lab ${labId} is what a failed \`up\` (pid ${record.owner.pid}) left behind; remove it with \`dicap lab down --id ${labId}\``,
    );
  }
  return new Lab(record.topology, false, true);
}

function onlyLabId(ids: string[]): string {
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0)
    throw new DicapError('DICAP_ERR_LAB_NOT_UP', 'no lab is up; start one with `dicap lab up`');
  throw new DicapError(
    'DICAP_ERR_BAD_CONFIG',
    `${ids.length} labs are up (${ids.join(', ')}); say which with --id`,
  );
}

// ---- exit and signals ------------------------------------------------------------------------

let handlersInstalled = false;

function cleanUpAll(filter: (lab: Lab) => boolean): void {
  for (const lab of [...liveLabs].filter(filter)) lab.cleanUpAtExit();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanUpAll((lab) => lab.handlesSignals);
  // Our handler replaced the default action (death by the signal). Unless the program has
  // a handler of its own, which then decides what happens, die of the signal as before.
  if (process.listeners(signal).every((listener) => listener === onSignal)) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function installProcessHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => cleanUpAll(() => true));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
