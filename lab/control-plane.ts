// A capture cluster steered by coordinators in a lab (issues 4 and 5): `dicap coordinator`
// on the lab's coordinator hosts (with two or more, peers of each other: one active, the
// others standbys), `dicap analyzer` on every analyzer host and `dicap agent` on every
// capture host, both joining the coordinators. Every process can be started, stopped,
// killed and restarted on its own while traffic runs; the coordinators' /status, /ledger,
// /events and /metrics are read from inside their namespaces.
//
//   const cp = await startControlPlane(lab, { mode: 'flow', timing: FAST_TIMING });
//   const active = await cp.waitForActive();
//   await cp.waitForTopology([11, 12, 13]);      // in every agent's hands, validity start passed
//   await cp.killAgent(13);                       // SIGKILL; cp.startAgent(13) brings it back
//   (await cp.status(active))?.members;
//   cp.appliedTopologies(11);                     // what agent 11 put in force, when
//   const final = await cp.stop();                // agents (they LEAVE), analyzers, coordinators
//
// Layout: coordinator k has ID k and listens on its management address, port 7400 (control)
// and 8400 (--http); in round-robin it injects topology frames from its wire interface.
// Agents and analyzers are given every coordinator (--coordinator …). Analyzer k has node ID
// 100 + k and listens on its management address, port 9999. Logs are kept whole, each line
// with the time it arrived, so tests can order what happened across processes.
import fs from 'node:fs';
import path from 'node:path';
import { badConfig, DicapError } from '../common/errors.js';
import { deriveHashKeys } from '../protocol/selection.js';
import { deriveTiming, type ControlTiming } from '../common/timing.js';
import type { SelectionModeName } from '../native/engine.js';
import { DEFAULT_SNAPLEN } from '../common/cluster-options.js';
import type { Endpoint } from '../protocol/index.js';
import type { CoordinatorStatus, PublishedTopology } from '../coordinator/status.js';
import type { EpochCoverage } from '../coordinator/coverage-ledger.js';
import type { ClusterEvent } from '../coordinator/event-log.js';
import {
  parseFollowing,
  parseTopologyInForce,
  type Following,
  type TopologyInForce,
} from '../node-agent/follower-log.js';
import {
  DEFAULT_ANALYZER_PORT,
  FIRST_NODE_ID,
  LabCluster,
  clusterKeyFor,
  type AgentSummary,
  type AnalyzerSummary,
  type ClusterResult,
} from './cluster.js';
import { LabMember, stopInOrder } from './member.js';
import { poll } from './poll.js';
import type { ExitInfo, Lab } from './lab.js';
import { NamespaceHttpClient } from './namespace-client.js';
import { labDirectory } from './state.js';
import { captureHostsOf, type LabHost } from './topology.js';

export const COORDINATOR_CONTROL_PORT = 7400;
export const COORDINATOR_HTTP_PORT = 8400;
/** Analyzer k joins with node ID FIRST_ANALYZER_NODE_ID + k. */
export const FIRST_ANALYZER_NODE_ID = 100;

/** The control plane's clocks, for every process of the cluster (milliseconds); the lab's coordinators do not announce. */
export type ControlPlaneTiming = Omit<ControlTiming, 'announceIntervalMs'>;

/** dicap's defaults (--timing default): DiCAP's heartbeat every 5 s and removal after 15 s of silence. */
export const DEFAULT_TIMING: ControlPlaneTiming = deriveTiming('default');

/** --timing fast: a dead node or coordinator replaced within a second. */
export const FAST_PROFILE: ControlPlaneTiming = deriveTiming('fast');

/**
 * Sub-second heartbeats and timeouts, for tests: failures are noticed within a second,
 * with margins for two test files sharing two cores (a heartbeat can be late by a few
 * hundred milliseconds when every core is busy).
 */
export const FAST_TIMING: ControlPlaneTiming = {
  heartbeatIntervalMs: 150,
  nodeTimeoutMs: 900,
  epochIntervalMs: 2000,
  validityDelayMs: 300,
  topologyIntervalMs: 1000,
  syncIntervalMs: 150,
  electionTimeoutMs: 900,
  solitudeMs: 2500,
};

export interface ControlPlaneOptions {
  mode: SelectionModeName;
  timing: ControlPlaneTiming;
  /** Bytes kept per frame, on the coordinators and every agent (default 128). */
  snaplen?: number;
  /** Export workers per agent (default 1). */
  workers?: number;
  /** How many of the lab's coordinator hosts run a coordinator (default all). */
  coordinators?: number;
  /** Node IDs of the capture hosts whose agents start with the cluster (default: every capture host's). */
  startAgents?: readonly number[];
  /** Where analyzers write their pcap (default: the cluster directory); null: /dev/null. */
  pcapDirectory?: string | null;
  readyTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export type { LogLine } from './member.js';

export type LabCoordinator = LabMember & {
  id: number;
  control: Endpoint;
  http: Endpoint;
};

export type LabAgent = LabMember & {
  nodeId: number;
  interface: string;
  summaryFile: string;
};

export type LabAnalyzer = LabMember & {
  nodeId: number;
  endpoint: Endpoint;
  pcapFile: string | null;
  summaryFile: string;
};

/** A topology an agent put in force, and when its line arrived. */
export interface AppliedTopology extends TopologyInForce {
  atMs: number;
}

/** One epoch of a coordinator's /ledger, newest first. */
export type LedgerEpoch = EpochCoverage;
/** One entry of a coordinator's /events. */
export type CoordinatorEvent = ClusterEvent;
export type { CoordinatorStatus };

const AGENT_STOP_GRACE_MS = 15_000;
const STOP_GRACE_MS = 10_000;

const isSameFollowing = (a: Following | undefined, b: Following): boolean =>
  a !== undefined &&
  a.term === b.term &&
  a.coordinator.ip === b.coordinator.ip &&
  a.coordinator.port === b.coordinator.port;

export class ControlPlane extends LabCluster<ControlPlaneOptions, LabAnalyzer, LabAgent> {
  private readonly http = new Map<string, NamespaceHttpClient>();
  /** Coordinator k on the lab's k-th coordinator host (`options.coordinators` of them). */
  readonly coordinators: readonly LabCoordinator[] = this.lab.topology.hosts
    .filter((h) => h.role === 'coordinator')
    .slice(0, this.options.coordinators ?? Infinity)
    .map((host) => {
      const id = Number(host.name.slice('coordinator'.length));
      const ip = managementOf(host);
      return Object.assign(new LabMember(`coordinator ${id}`, host.name), {
        id,
        control: { ip, port: COORDINATOR_CONTROL_PORT },
        http: { ip, port: COORDINATOR_HTTP_PORT },
      });
    });

  get snaplen(): number {
    return this.options.snaplen ?? DEFAULT_SNAPLEN;
  }

  /** The selection hash keys k0, k1 every coordinator derives from the cluster key. */
  get hashKeys(): [number, number] {
    return deriveHashKeys(this.clusterKey);
  }

  coordinator(id: number): LabCoordinator {
    return this.find(this.coordinators, (c) => c.id === id, `coordinator ${id}`);
  }

  agent(nodeId: number): LabAgent {
    return this.find(this.agents, (a) => a.nodeId === nodeId, `agent ${nodeId}`);
  }

  // ---- processes ------------------------------------------------------------------------

  /** Starts (or restarts) coordinator `id`; resolves once it listens. */
  async startCoordinator(id: number): Promise<void> {
    const c = this.coordinator(id);
    const t = this.options.timing;
    const host = this.lab.host(c.host);
    const peers = this.coordinators
      .filter((p) => p.id !== id)
      .flatMap((p) => ['--peer', `${p.id}@${p.control.ip}:${p.control.port}`]);
    c.start(this.lab, [
      'coordinator',
      '--listen',
      `${c.control.ip}:${c.control.port}`,
      '--cluster-key-file',
      this.keyFile,
      '--mode',
      this.options.mode,
      '--snaplen',
      String(this.snaplen),
      '--coordinator-id',
      String(id),
      ...peers,
      '--http',
      `${c.http.ip}:${c.http.port}`,
      '--heartbeat-interval-ms',
      String(t.heartbeatIntervalMs),
      '--node-timeout-ms',
      String(t.nodeTimeoutMs),
      '--topology-interval-ms',
      String(t.topologyIntervalMs),
      '--epoch-interval-ms',
      String(t.epochIntervalMs),
      '--validity-delay-ms',
      String(t.validityDelayMs),
      '--sync-interval-ms',
      String(t.syncIntervalMs),
      '--election-timeout-ms',
      String(t.electionTimeoutMs),
      '--solitude-ms',
      String(t.solitudeMs),
      '--announce-interval-ms',
      '0',
      '--status-interval',
      '0',
      ...(this.options.mode === 'round-robin' ? ['--inject-interface', host.wire!.interface] : []),
    ]);
    await c.waitForLine(/listening on/, this.readyTimeoutMs);
  }

  /** Stops coordinator `id` with `signal` (SIGKILL: it dies at once, as in a crash). */
  stopCoordinator(id: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    return this.coordinator(id).stop(signal, STOP_GRACE_MS);
  }

  /** Starts (or restarts) the agent of node `nodeId`; resolves once it captures (its summary exists). */
  async startAgent(nodeId: number): Promise<void> {
    const a = this.agent(nodeId);
    a.start(this.lab, [
      'agent',
      '--interface',
      a.interface,
      '--node-id',
      String(nodeId),
      ...this.coordinators.flatMap((c) => ['--coordinator', `${c.control.ip}:${c.control.port}`]),
      '--cluster-key-file',
      this.keyFile,
      '--heartbeat-interval-ms',
      String(this.options.timing.heartbeatIntervalMs),
      '--snaplen',
      String(this.snaplen),
      '--workers',
      String(this.options.workers ?? 1),
      '--summary',
      a.summaryFile,
      '--status-interval',
      '1',
    ]);
    await a.waitForSummary(this.readyTimeoutMs);
  }

  /** Stops the agent of `nodeId`: SIGTERM leaves the cluster (LEAVE, capture until others cover), SIGKILL dies at once. */
  stopAgent(nodeId: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    return this.agent(nodeId).stop(signal, AGENT_STOP_GRACE_MS);
  }

  /** Starts (or restarts) the analyzer of node `nodeId`; resolves once it listens (its summary exists). */
  async startAnalyzer(nodeId: number): Promise<void> {
    const a = this.find(this.analyzers, (x) => x.nodeId === nodeId, `analyzer ${nodeId}`);
    a.start(this.lab, [
      'analyzer',
      '--listen',
      `${a.endpoint.ip}:${a.endpoint.port}`,
      '--write',
      a.pcapFile ?? '/dev/null',
      '--summary',
      a.summaryFile,
      '--snaplen',
      String(this.snaplen),
      '--status-interval',
      '1',
      '--node-id',
      String(a.nodeId),
      ...this.coordinators.flatMap((c) => ['--coordinator', `${c.control.ip}:${c.control.port}`]),
      '--cluster-key-file',
      this.keyFile,
      '--heartbeat-interval-ms',
      String(this.options.timing.heartbeatIntervalMs),
    ]);
    await a.waitForSummary(this.readyTimeoutMs);
  }

  private get readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? 20_000;
  }

  // ---- what the coordinators say ---------------------------------------------------------

  /** GET `urlPath` of coordinator `id` from inside its namespace; undefined when it does not answer. */
  async coordinatorGet(id: number, urlPath: string): Promise<string | undefined> {
    const c = this.coordinator(id);
    let client = this.http.get(c.host);
    if (!client) {
      client = NamespaceHttpClient.start(this.lab, c.host);
      this.http.set(c.host, client);
    }
    const answer = await client.get(`http://${c.http.ip}:${c.http.port}${urlPath}`);
    return answer?.status === 200 ? answer.body : undefined;
  }

  async status(id: number): Promise<CoordinatorStatus | undefined> {
    const body = await this.coordinatorGet(id, '/status');
    return body === undefined ? undefined : (JSON.parse(body) as CoordinatorStatus);
  }

  /** Newest epoch first. */
  async ledger(id: number): Promise<LedgerEpoch[] | undefined> {
    const body = await this.coordinatorGet(id, '/ledger');
    return body === undefined ? undefined : (JSON.parse(body) as LedgerEpoch[]);
  }

  async events(id: number): Promise<CoordinatorEvent[] | undefined> {
    const body = await this.coordinatorGet(id, '/events');
    return body === undefined ? undefined : (JSON.parse(body) as CoordinatorEvent[]);
  }

  /** The Prometheus text of /metrics. */
  metrics(id: number): Promise<string | undefined> {
    return this.coordinatorGet(id, '/metrics');
  }

  /** The IDs of the running coordinators whose /status says active. */
  async activeCoordinators(): Promise<number[]> {
    const running = this.coordinators.filter((c) => c.process?.running);
    const statuses = await Promise.all(running.map((c) => this.status(c.id)));
    return running.filter((_, i) => statuses[i]?.role === 'active').map((c) => c.id);
  }

  /** Resolves with the ID of the one active coordinator once exactly one (not in `except`) is active. */
  async waitForActive(timeoutMs = 20_000, except: readonly number[] = []): Promise<number> {
    return this.poll(
      'exactly one active coordinator',
      async () => {
        const active = await this.activeCoordinators();
        return active.length === 1 && !except.includes(active[0]!) ? active[0] : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Resolves with the active coordinator's topology once it names exactly `nodeIds` (and
   * every running analyzer), every agent among them follows the active coordinator, and the
   * topology is in force: hash modes, its validity start has passed (every agent has it, and
   * holds it until the first frame after that instant); round-robin, every agent put it (or a
   * later one) in force at its in-band frame. Traffic sent from then on is covered by it.
   */
  async waitForTopology(
    nodeIds: readonly number[],
    timeoutMs = 20_000,
  ): Promise<{ active: number; topology: PublishedTopology }> {
    const analyzers = this.analyzers
      .filter((a) => a.process?.running)
      .map((a) => `${a.endpoint.ip}:${a.endpoint.port}`)
      .sort();
    return this.poll(
      `a topology of nodes ${nodeIds.join(',')} in force`,
      async () => {
        const active = (await this.activeCoordinators())[0];
        if (active === undefined) return undefined;
        const status = await this.status(active);
        const t = status?.topology;
        if (!t || t.nodeIds.join() !== [...nodeIds].sort((a, b) => a - b).join()) return undefined;
        if (
          t.analyzers
            .map((e) => `${e.ip}:${e.port}`)
            .sort()
            .join() !== analyzers.join()
        )
          return undefined;
        if (Date.now() < t.validityStartMs + 200) return undefined;
        const follows = (agent: LabAgent): boolean =>
          agent.log
            .slice(agent.lifeStart)
            .some((l) =>
              isSameFollowing(parseFollowing(l.text), { coordinator: status!.control, term: t.term }),
            );
        const following = nodeIds.every((id) => follows(this.agent(id)));
        const inForce =
          t.selection !== 'round-robin' ||
          nodeIds.every((id) =>
            this.appliedTopologies(id).some((a) => a.term === t.term && a.epoch >= t.epoch),
          );
        return following && inForce ? { active, topology: t } : undefined;
      },
      timeoutMs,
    );
  }

  // ---- what the agents and analyzers say ---------------------------------------------------

  /** The topologies agent `nodeId` put in force, in order, over all its lives. */
  appliedTopologies(nodeId: number): AppliedTopology[] {
    return this.agent(nodeId).log.flatMap((l) => {
      const applied = parseTopologyInForce(l.text);
      return applied ? [{ ...applied, atMs: l.atMs }] : [];
    });
  }

  /** Polls `probe` until it returns a value; rejects after timeoutMs naming `what`, with the end of every log. */
  poll<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    return poll(`lab ${this.lab.id}: ${what}`, probe, timeoutMs, {
      detail: () =>
        [...this.coordinators, ...this.analyzers, ...this.agents]
          .filter((m) => m.log.length > 0)
          .map((m) => `${m.name}: ${m.tail()}`)
          .join('; '),
    });
  }

  // ---- stopping -----------------------------------------------------------------------------

  /**
   * Stops every running agent (SIGINT: it leaves and flushes), then the analyzers, then the
   * coordinators; the final summaries are those of the agents that ran to the end and of the
   * analyzers.
   */
  protected async stopInOrder(): Promise<ClusterResult> {
    try {
      return await stopInOrder<AgentSummary, AnalyzerSummary>(this.lab.id, {
        agents: this.agents,
        analyzers: this.analyzers,
        coordinators: this.coordinators,
        agentGraceMs: AGENT_STOP_GRACE_MS,
        graceMs: STOP_GRACE_MS,
      });
    } finally {
      await Promise.all([...this.http.values()].map((client) => client.close()));
      await Promise.all(
        [...this.coordinators, ...this.analyzers, ...this.agents]
          .filter((m) => m.running)
          .map((m) => m.stop('SIGKILL', 0)),
      );
    }
  }

  private find<T>(list: readonly T[], match: (item: T) => boolean, what: string): T {
    const found = list.find(match);
    if (!found) throw badConfig(`lab ${this.lab.id} has no ${what} in this cluster`);
    return found;
  }
}

const managementOf = (host: LabHost): string => {
  if (!host.management) throw badConfig(`lab host ${host.name} is not on the management network`);
  return host.management.address;
};

/**
 * Starts the coordinators, then the analyzers, then the agents of `options.startAgents`,
 * and resolves once every one of them runs (coordinators listening, the others with their
 * first summary). Wait for the topology with waitForActive() and waitForTopology(). If a
 * process fails to start, everything started is stopped and the error names it.
 */
export async function startControlPlane(lab: Lab, options: ControlPlaneOptions): Promise<ControlPlane> {
  const analyzerHosts = lab.topology.hosts.filter((h) => h.role === 'analyzer');
  const captures = captureHostsOf(lab.topology);
  const directory = path.join(labDirectory(lab.id), 'control-plane');
  fs.rmSync(directory, { recursive: true, force: true });
  fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
  const { key, file } = clusterKeyFor(undefined, directory);
  const progress = options.onProgress ?? ((): void => {});

  const analyzers: LabAnalyzer[] = analyzerHosts.map((host, k) => {
    const nodeId = FIRST_ANALYZER_NODE_ID + k + 1;
    const summaryFile = path.join(directory, `analyzer-${host.name}.json`);
    return Object.assign(new LabMember(`analyzer ${nodeId}`, host.name, summaryFile), {
      nodeId,
      summaryFile,
      endpoint: { ip: managementOf(host), port: DEFAULT_ANALYZER_PORT },
      pcapFile:
        options.pcapDirectory === null
          ? null
          : path.join(options.pcapDirectory ?? directory, `${host.name}.pcap`),
    });
  });
  const agents: LabAgent[] = captures.map((host, k) => {
    const nodeId = FIRST_NODE_ID + k;
    const summaryFile = path.join(directory, `agent-${host.name}.json`);
    return Object.assign(new LabMember(`agent ${nodeId}`, host.name, summaryFile), {
      nodeId,
      summaryFile,
      interface: host.passive.interface,
    });
  });
  const cp = new ControlPlane(lab, options, directory, key, file, analyzers, agents);
  const coordinators = cp.coordinators;
  if (coordinators.length === 0)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab ${lab.id} has no coordinator host; build it with coordinators`,
    );
  try {
    await Promise.all(coordinators.map((c) => cp.startCoordinator(c.id)));
    progress(
      `lab ${lab.id}: ${coordinators.length} coordinator${coordinators.length === 1 ? '' : 's'} listening (${options.mode})`,
    );
    // Analyzers first: the agents' first topology then names them.
    await Promise.all(analyzers.map((a) => cp.startAnalyzer(a.nodeId)));
    const starting = options.startAgents ?? agents.map((a) => a.nodeId);
    await Promise.all(starting.map((id) => cp.startAgent(id)));
    progress(
      `lab ${lab.id}: agents ${starting.join(', ')} and ${analyzers.length} analyzer${analyzers.length === 1 ? '' : 's'} running`,
    );
    return cp;
  } catch (error) {
    await cp.stop().catch(() => {});
    throw error;
  }
}
