// A capture cluster running in a lab: one `dicap analyzer` per analyzer host and one
// `dicap agent` per capture host on its passive interface, all with the same static
// topology (TERM 0, EPOCH 1). Used by `dicap lab replay --out`, `dicap lab demo`, the
// integration tests and the benchmarks.
//
//   const cluster = await startCluster(lab, { mode: 'flow', key: [0x1234, 0x5678], snaplen: 128, workers: 1 });
//   cluster.counters();                 // live: every agent's and analyzer's --summary file
//   await cluster.waitUntil('…', (s) => …);
//   const final = await cluster.stop(); // agents first (SIGINT: they flush), then analyzers
//
// Live counters come from the processes' --summary files, which they rewrite whole every
// --status-interval (1 s here). The files live in /run/dicap-lab/<id>/cluster/, readable
// from the root namespace (namespaces share the file system) and removed with the lab.
import type { AgentSummary } from '../node-agent/summary.js';
import type { AnalyzerSummary } from '../analyzer/summary.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readClusterKeyFile } from '../common/cluster-key.js';
import { badConfig, DicapError } from '../common/errors.js';
import type { SelectionModeName } from '../native/engine.js';
import type { Endpoint, TopologyUpdateFields } from '../protocol/index.js';
import type { Lab } from './lab.js';
import { LabMember, stopInOrder } from './member.js';
import { poll } from './poll.js';
import { framesAccounted } from './coverage.js';
import { labDirectory } from './state.js';
import { captureHostsOf, type LabHost } from './topology.js';

/** Selection hash key words k0, k1 of the lab's own clusters (`dicap lab demo`, `replay --out`) unless told otherwise. */
export const DEFAULT_HASH_KEY: readonly [number, number] = [0x1234, 0x5678];
/** Node IDs of the capture hosts by default: capture1 is 11, capture2 is 12, … */
export const FIRST_NODE_ID = 11;
export const DEFAULT_ANALYZER_PORT = 9999;
/** How often agents and analyzers rewrite their summary files (and print a status line), in seconds. */
export const DEFAULT_STATUS_INTERVAL_S = 1;
export const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** An agent's SIGINT stop drains its queues and flushes every batch; give it this long before SIGKILL. */
const AGENT_STOP_GRACE_MS = 15_000;
const ANALYZER_STOP_GRACE_MS = 10_000;

/**
 * Where the analyzers run:
 * - 'analyzer-hosts' (default): one per analyzer host of the lab, listening on its management
 *   address; every agent exports to all of them (a random analyzer per batch).
 * - 'capture-hosts': one on each capture host, listening on 127.0.0.1. Every agent's topology
 *   names 127.0.0.1:port, which in its own namespace is its own analyzer, so each analyzer's
 *   pcap holds exactly one node's frames — also after an in-band topology, which carries one
 *   analyzer list for all nodes. For tests that check which node exported which frame.
 */
export type AnalyzerPlacement = 'analyzer-hosts' | 'capture-hosts';

export interface ClusterOptions {
  mode: SelectionModeName;
  /** Selection hash key words k0, k1 (SPEC.md §4). */
  key: readonly [number, number];
  /** File with the cluster key (hex) that authenticates in-band frames; default: a fresh random key in the cluster's directory. */
  clusterKeyFile?: string;
  /** Bytes kept per frame. */
  snaplen: number;
  /** Export worker threads per agent. */
  workers: number;
  /** Node IDs in capture-host order (capture1 first); default 11, 12, … */
  nodes?: readonly number[];
  analyzerPlacement?: AnalyzerPlacement;
  /** Directory the analyzers write `<host>.pcap` into (default: the cluster's directory); null: write to /dev/null. */
  pcapDirectory?: string | null;
  analyzerPort?: number;
  statusIntervalS?: number;
  readyTimeoutMs?: number;
  /** More `dicap agent` flags (ring geometry, queue slots, …). */
  agentArgs?: readonly string[];
  onProgress?: (line: string) => void;
}

export type { AgentSummary } from '../node-agent/summary.js';
export type { AnalyzerSummary } from '../analyzer/summary.js';

export type ClusterAgent = LabMember & {
  summaryFile: string;
  nodeId: number;
  /** Position in the topology (0-based): the k-th capture host has position k−1. */
  position: number;
  /** The passive interface it captures on. */
  interface: string;
};

export type ClusterAnalyzer = LabMember & {
  summaryFile: string;
  /** Where it receives header batches, as the agents address it. */
  endpoint: Endpoint;
  /** The pcap it writes, or null when it writes to /dev/null. */
  pcapFile: string | null;
};

/** The live counters: undefined where a process has not written its summary yet. */
export interface ClusterSnapshot {
  agents: Array<AgentSummary | undefined>;
  analyzers: Array<AnalyzerSummary | undefined>;
}

/** Every process's final counters, after stop(). */
export interface ClusterResult {
  agents: AgentSummary[];
  analyzers: AnalyzerSummary[];
}

/**
 * A cluster of `dicap` processes in a lab, static (Cluster) or steered by coordinators
 * (ControlPlane, control-plane.ts): its directory, cluster key, analyzers and agents, their
 * live counters, and one stop in order however often stop() is called.
 */
export abstract class LabCluster<O, Z extends LabMember, A extends LabMember> {
  private stopping: Promise<ClusterResult> | undefined;

  constructor(
    readonly lab: Lab,
    readonly options: Readonly<O>,
    /** The cluster's directory: summaries, key file, and by default the pcaps. */
    readonly directory: string,
    /** The key that authenticates in-band frames and control messages, as the processes have it. */
    readonly clusterKey: Buffer,
    /** The file they read it from. */
    readonly keyFile: string,
    readonly analyzers: readonly Z[],
    readonly agents: readonly A[],
  ) {}

  /** Every agent's and analyzer's summary file now (undefined before its first). */
  counters(): ClusterSnapshot {
    return {
      agents: this.agents.map((a) => a.summary<AgentSummary>()),
      analyzers: this.analyzers.map((a) => a.summary<AnalyzerSummary>()),
    };
  }

  /**
   * Stops the agents (SIGINT: each flushes its batches and writes its final counters), then,
   * once their last datagrams have arrived, the analyzers (and whatever else the cluster
   * runs); resolves with every final summary. Rejects, after stopping everything, if a
   * process did not end cleanly.
   */
  stop(): Promise<ClusterResult> {
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  protected abstract stopInOrder(): Promise<ClusterResult>;
}

// One cluster per lab at a time: two would capture the same passive interfaces.
const running = new Set<string>();

/** Where the agents of a cluster export to: with analyzers on the capture hosts, each agent's one analyzer is 127.0.0.1, its own. */
function exportTargets(placement: AnalyzerPlacement, analyzers: readonly ClusterAnalyzer[]): Endpoint[] {
  return placement === 'capture-hosts' ? [analyzers[0]!.endpoint] : analyzers.map((a) => a.endpoint);
}

export class Cluster extends LabCluster<ClusterOptions, ClusterAnalyzer, ClusterAgent> {
  /** The topology every agent starts with (TERM 0, EPOCH 1), as a TOPOLOGY_UPDATE's fields. */
  get staticTopology(): TopologyUpdateFields {
    return {
      term: 0,
      epoch: 1,
      selection: this.options.mode,
      validityStartMs: 0,
      nodeIds: this.agents.map((a) => a.nodeId),
      analyzers: exportTargets(this.options.analyzerPlacement ?? 'analyzer-hosts', this.analyzers),
      k0: this.options.key[0],
      k1: this.options.key[1],
      snaplen: this.options.snaplen,
    };
  }

  /**
   * Polls the counters until `condition` holds, and resolves with them. Rejects when a
   * process of the cluster has ended (naming it, with the end of its stderr) or after
   * timeoutMs (naming `what`).
   */
  async waitUntil(
    what: string,
    condition: (snapshot: ClusterSnapshot) => boolean,
    timeoutMs = 30_000,
  ): Promise<ClusterSnapshot> {
    return poll(
      `lab ${this.lab.id}: ${what}`,
      () => {
        this.checkRunning();
        const snapshot = this.counters();
        return condition(snapshot) ? snapshot : undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves once every agent has `epoch` in force (e.g. adopted from an in-band frame). */
  waitForEpoch(epoch: number, timeoutMs = 10_000): Promise<ClusterSnapshot> {
    return this.waitUntil(
      `every agent has epoch ${epoch} in force`,
      (s) => s.agents.every((a) => a?.epoch === epoch),
      timeoutMs,
    );
  }

  /**
   * Resolves once every agent has taken off its ring as many frames as its passive interface
   * received (`wireFrames`, in node order, counted since the cluster started): true. Resolves
   * false when no agent's count has moved for quietMs (frames lost in the ring never come)
   * or after timeoutMs.
   */
  async waitForCapture(wireFrames: readonly number[], quietMs = 3000, timeoutMs = 60_000): Promise<boolean> {
    let last = '';
    let quietSince = Date.now();
    return poll(
      `lab ${this.lab.id}: every agent took its wire's frames`,
      () => {
        this.checkRunning();
        const frames = this.counters().agents.map((a) => (a ? framesAccounted(a) : 0));
        if (frames.every((n, i) => n >= wireFrames[i]!)) return true;
        const now = Date.now();
        if (frames.join() !== last) {
          last = frames.join();
          quietSince = now;
        }
        return now - quietSince > quietMs ? false : undefined;
      },
      timeoutMs,
    ).catch(() => false);
  }

  /** Throws if an agent or analyzer has ended (they run until stop()). */
  checkRunning(): void {
    const ended = [...this.analyzers, ...this.agents].filter((p) => !p.running);
    if (ended.length > 0) {
      throw new DicapError(
        'DICAP_ERR_LAB_PROCESS',
        ended.map((p) => `${p.name} on ${p.host} ended early: ${p.tail()}`).join('; '),
      );
    }
  }

  protected async stopInOrder(): Promise<ClusterResult> {
    try {
      return await stopInOrder<AgentSummary, AnalyzerSummary>(this.lab.id, {
        agents: this.agents,
        analyzers: this.analyzers,
        agentGraceMs: AGENT_STOP_GRACE_MS,
        graceMs: ANALYZER_STOP_GRACE_MS,
      });
    } finally {
      running.delete(this.lab.id);
    }
  }
}

/** The cluster key from `file`, or a fresh random one written (hex, mode 0600) to `directory`/cluster.key. */
export function clusterKeyFor(file: string | undefined, directory: string): { key: Buffer; file: string } {
  if (file !== undefined) return { key: readClusterKeyFile(file), file };
  const key = randomBytes(32);
  const written = path.join(directory, 'cluster.key');
  fs.writeFileSync(written, `${key.toString('hex')}\n`, { mode: 0o600 });
  return { key, file: written };
}

function checkOptions(
  lab: Lab,
  options: ClusterOptions,
  captures: readonly LabHost[],
  nodeIds: readonly number[],
): void {
  const bad = (message: string): never => {
    throw badConfig(message);
  };
  if (nodeIds.length !== captures.length)
    bad(
      `${nodeIds.length} node IDs given for the ${captures.length} capture hosts of lab ${lab.id}; give one per capture host`,
    );
  if (new Set(nodeIds).size !== nodeIds.length)
    bad(`node IDs ${nodeIds.join(',')} repeat one; every node needs its own`);
  for (const word of options.key)
    if (!Number.isInteger(word) || word < 0 || word > 0xffffffff)
      bad(`hash key word ${word} is not a 32-bit word`);
}

/**
 * Starts the cluster in `lab` and resolves once every process has written its first
 * summary (agents: capturing; analyzers: listening). If a process fails to start, those
 * already started are stopped and the error names the failing one.
 */
export async function startCluster(lab: Lab, options: ClusterOptions): Promise<Cluster> {
  const captures = captureHostsOf(lab.topology);
  const nodeIds = options.nodes ? [...options.nodes] : captures.map((_, i) => FIRST_NODE_ID + i);
  checkOptions(lab, options, captures, nodeIds);
  const placement = options.analyzerPlacement ?? 'analyzer-hosts';
  const analyzerHosts =
    placement === 'capture-hosts' ? captures : lab.topology.hosts.filter((h) => h.role === 'analyzer');
  if (analyzerHosts.length === 0) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab ${lab.id} has no analyzer host; build it with analyzers (dicap lab up --analyzers 1) or place the analyzers on the capture hosts`,
    );
  }
  if (running.has(lab.id))
    throw new DicapError('DICAP_ERR_LAB_BUSY', `lab ${lab.id} already runs a cluster; stop it first`);
  running.add(lab.id);

  const progress = options.onProgress ?? ((): void => {});
  const directory = path.join(labDirectory(lab.id), 'cluster');
  fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
  const port = options.analyzerPort ?? DEFAULT_ANALYZER_PORT;
  const interval = String(options.statusIntervalS ?? DEFAULT_STATUS_INTERVAL_S);
  const summaryOf = (host: string, role: string): string => {
    const file = path.join(directory, `${role}-${host}.json`);
    fs.rmSync(file, { force: true }); // a summary of an earlier cluster must not look like "ready"
    return file;
  };
  const started: LabMember[] = [];
  try {
    const { key: clusterKey, file: keyFile } = clusterKeyFor(options.clusterKeyFile, directory);

    const analyzers: ClusterAnalyzer[] = analyzerHosts.map((host) => {
      const endpoint = { ip: placement === 'capture-hosts' ? '127.0.0.1' : host.management!.address, port };
      const pcapFile =
        options.pcapDirectory === null
          ? null
          : path.join(options.pcapDirectory ?? directory, `${host.name}.pcap`);
      const summaryFile = summaryOf(host.name, 'analyzer');
      const args = [
        'analyzer',
        '--listen',
        `${endpoint.ip}:${port}`,
        '--write',
        pcapFile ?? '/dev/null',
        '--summary',
        summaryFile,
        '--snaplen',
        String(options.snaplen),
        '--status-interval',
        interval,
      ];
      const analyzer = Object.assign(new LabMember('analyzer', host.name, summaryFile), {
        summaryFile,
        endpoint,
        pcapFile,
      });
      analyzer.start(lab, args);
      started.push(analyzer);
      return analyzer;
    });
    const exportTo = exportTargets(placement, analyzers);
    await waitForSummaries(analyzers, options.readyTimeoutMs);
    progress(
      `lab ${lab.id}: ${analyzers.length} analyzer${analyzers.length === 1 ? '' : 's'} listening (${analyzers.map((a) => `${a.host} ${a.endpoint.ip}:${port}`).join(', ')})`,
    );

    const agents: ClusterAgent[] = captures.map((host, position) => {
      const nodeId = nodeIds[position]!;
      const summaryFile = summaryOf(host.name, 'agent');
      const args = [
        'agent',
        '--interface',
        host.passive.interface,
        '--node-id',
        String(nodeId),
        '--nodes',
        nodeIds.join(','),
        '--mode',
        options.mode,
        '--key',
        options.key.map((k) => `0x${k.toString(16)}`).join(','),
        '--cluster-key-file',
        keyFile,
        '--snaplen',
        String(options.snaplen),
        '--workers',
        String(options.workers),
        ...exportTo.flatMap((e) => ['--analyzer', `${e.ip}:${e.port}`]),
        '--summary',
        summaryFile,
        '--status-interval',
        interval,
        ...(options.agentArgs ?? []),
      ];
      const agent = Object.assign(new LabMember(`agent ${nodeId}`, host.name, summaryFile), {
        summaryFile,
        nodeId,
        position,
        interface: host.passive.interface,
      });
      agent.start(lab, args);
      started.push(agent);
      return agent;
    });
    await waitForSummaries(agents, options.readyTimeoutMs);
    progress(
      `lab ${lab.id}: ${agents.length} agents capturing (${options.mode}, nodes ${nodeIds.join(',')}, ${options.workers} worker${options.workers === 1 ? '' : 's'} each)`,
    );
    return new Cluster(lab, options, directory, clusterKey, keyFile, analyzers, agents);
  } catch (error) {
    await Promise.all(started.filter((p) => p.running).map((p) => p.stop('SIGTERM', 2000)));
    running.delete(lab.id);
    throw error;
  }
}

/** Resolves when every process has written its summary; rejects if one ends first or the time is up. */
async function waitForSummaries(
  processes: readonly LabMember[],
  timeoutMs = DEFAULT_READY_TIMEOUT_MS,
): Promise<void> {
  await Promise.all(processes.map((p) => p.waitForSummary(timeoutMs)));
}
