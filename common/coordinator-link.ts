// A member's side of the control plane (agents and analyzers): know the coordinators (static
// addresses and their multicast ANNOUNCEs), JOIN until accepted and HEARTBEAT to all of them
// (so a standby knows who is alive and can take over with the members it needs), follow the
// active one of the highest TERM only (fencing), pass its topologies on, and LEAVE when
// asked. When the coordinators are silent nothing changes: the member keeps what it has.
//
// Where a coordinator is comes from configuration or from authenticated content (the
// COORDINATOR_IP/PORT of ACCEPT, ANNOUNCE and TOPOLOGY_UPDATE), never from a datagram's source
// address; coordinators learnt that way are few (MAX_LEARNT_COORDINATORS) and forgotten when
// silent (LEARNT_COORDINATOR_TIMEOUT_MS), so nobody can make a member heartbeat to crowds.
import { EventEmitter } from 'node:events';
import {
  heartbeat,
  join,
  leave,
  type ControlBody,
  type ControlView,
  type EngineTotals,
  type Endpoint,
  type Role,
  type SelectionStageReport,
  type TopologyUpdateFields,
} from '../protocol/index.js';
import { ReplayGuard } from '../protocol/index.js';
import { ControlChannel } from './control-channel.js';
import { sourceAddressTowards } from './endpoint.js';
import { DicapError } from './errors.js';
import { guarded } from './fault-guard.js';

export interface CoordinatorLinkOptions {
  nodeId: number;
  role: Role;
  /** Analyzers: where capture nodes send header batches. */
  dataEndpoint?: Endpoint;
  /** Known coordinators (active and standbys); more are learnt from ANNOUNCEs on `discoverGroup`. */
  coordinators: readonly Endpoint[];
  discoverGroup?: Endpoint;
  key: Buffer | null;
  /** Until an ACCEPT says the cluster's interval (SPEC §6.11). */
  heartbeatIntervalMs: number;
  /** Local address for the control socket (default: the source address towards the first coordinator; required without one). */
  bindIp?: string;
  /** The epoch this member applies, for its heartbeats. */
  appliedEpoch: () => number;
  /** Capture nodes: the engine's counters, sent with every heartbeat (SPEC.md §6.9). */
  counters?: () => EngineTotals;
  /** Capture nodes: where they select and why, in JOIN and every HEARTBEAT (SPEC.md §6.10). */
  selection?: SelectionStageReport;
}

export interface CoordinatorLinkEvents {
  topology: [topology: TopologyUpdateFields];
  coordinator: [coordinator: Endpoint, term: number];
  /** Just after every heartbeat: what else a member reports at the cluster's pace goes then. */
  heartbeat: [];
  /** An ACCEPT told a heartbeat interval other than ours: we heartbeat at it from now on. */
  timing: [heartbeatIntervalMs: number];
}

/** A HEARTBEAT_INTERVAL_MS outside this range is ignored (the options' own range). */
const HEARTBEAT_INTERVAL_RANGE_MS = [50, 600000] as const;

/** JOIN is repeated this often (at most) until an ACCEPT arrives. */
const JOIN_RETRY_MS = 1000;
/** Coordinators learnt from messages (beyond the configured ones) at once; more are refused. */
export const MAX_LEARNT_COORDINATORS = 8;
/** A learnt coordinator silent this long is forgotten (configured ones are kept). */
export const LEARNT_COORDINATOR_TIMEOUT_MS = 30_000;

interface KnownCoordinator {
  readonly endpoint: Endpoint;
  readonly configured: boolean;
  lastHeardMs: number;
}

const key = (e: Endpoint): string => `${e.ip}:${e.port}`;

/** Where the control socket binds: as configured, else where this host talks to its first coordinator, never every address by default. */
async function controlAddress(options: CoordinatorLinkOptions): Promise<string> {
  if (options.bindIp !== undefined) return options.bindIp;
  const first = options.coordinators[0];
  if (first) return sourceAddressTowards(first);
  throw new DicapError(
    'DICAP_ERR_BAD_CONFIG',
    "with --discover and no --coordinator, give --control-address IP (this host's management address; 0.0.0.0 listens on every address)",
  );
}

export class CoordinatorLink extends EventEmitter<CoordinatorLinkEvents> {
  /** The active coordinator we follow (the one of the highest term). */
  coordinator: Endpoint | undefined;
  /** Every coordinator we heartbeat to, by "ip:port": the configured ones and those learnt. */
  readonly known = new Map<string, KnownCoordinator>();
  /** The highest TERM seen: messages of lower terms are ignored. */
  term = 0;
  accepted = false;
  lastHeardMs = 0;
  /** Messages ignored because they came from a lower term than one already seen. */
  fenced = 0;
  /** How often we heartbeat: our option until an ACCEPT tells the cluster's. */
  heartbeatIntervalMs: number;
  private joinTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Coordinators not learnt because MAX_LEARNT_COORDINATORS were known already. */
  coordinatorsRefused = 0;

  private constructor(
    private readonly options: CoordinatorLinkOptions,
    readonly channel: ControlChannel,
    private readonly discovery: ControlChannel | undefined,
  ) {
    super();
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    for (const c of options.coordinators)
      this.known.set(key(c), { endpoint: c, configured: true, lastHeardMs: 0 });
    if (options.coordinators.length === 1) this.coordinator = options.coordinators[0];
  }

  static async start(options: CoordinatorLinkOptions): Promise<CoordinatorLink> {
    // One replay state for both sockets: a message heard on one is a replay on the other.
    const guard = new ReplayGuard();
    const channel = await ControlChannel.open({
      bind: { ip: await controlAddress(options), port: 0 },
      key: options.key,
      guard,
    });
    let discovery: ControlChannel | undefined;
    if (options.discoverGroup) {
      try {
        discovery = await ControlChannel.open({
          bind: { ip: '0.0.0.0', port: options.discoverGroup.port },
          key: options.key,
          multicastGroup: options.discoverGroup.ip,
          guard,
        });
      } catch (error) {
        await channel.close();
        throw error;
      }
    }
    const link = new CoordinatorLink(options, channel, discovery);
    link.run();
    return link;
  }

  private run(): void {
    this.channel.on('message', (view, from) => this.onMessage(view, from));
    this.discovery?.on('message', (view, from) => this.onMessage(view, from));
    this.startTimers();
    this.sendJoin();
  }

  private startTimers(): void {
    this.stopTimers();
    const joinRetry = Math.min(JOIN_RETRY_MS, this.heartbeatIntervalMs);
    this.joinTimer = setInterval(
      guarded('JOIN retry', () => !this.accepted && this.sendJoin()),
      joinRetry,
    );
    this.heartbeatTimer = setInterval(
      guarded('heartbeat', () => {
        this.forgetSilentCoordinators(Date.now());
        this.sendHeartbeat();
      }),
      this.heartbeatIntervalMs,
    );
  }

  /** Sends a message to the active coordinator, if one is known. */
  send(body: ControlBody): void {
    if (this.coordinator) this.channel.send(body, this.coordinator);
  }

  /** Sends a message to every coordinator we know (active and standbys): heartbeats and reports. */
  sendToAll(body: ControlBody): void {
    let bytes: Buffer;
    try {
      bytes = this.channel.encode(body);
    } catch {
      this.channel.encodeErrors++;
      return;
    }
    for (const c of this.known.values()) this.channel.sendEncoded(bytes, c.endpoint);
  }

  /** Says goodbye and stops heartbeating (which would make us a member again); topologies still arrive. */
  leave(): void {
    this.stopTimers();
    this.sendToAll(leave({ nodeId: this.options.nodeId }));
  }

  async stop(): Promise<void> {
    this.stopTimers();
    await Promise.all([this.channel.close(), this.discovery?.close()]);
  }

  private stopTimers(): void {
    clearInterval(this.joinTimer);
    clearInterval(this.heartbeatTimer);
    this.joinTimer = this.heartbeatTimer = undefined;
  }

  private sendJoin(): void {
    this.sendToAll(
      join({
        nodeId: this.options.nodeId,
        role: this.options.role,
        endpoint: this.options.dataEndpoint,
        selection: this.options.selection,
      }),
    );
  }

  private sendHeartbeat(): void {
    this.sendToAll(
      heartbeat({
        nodeId: this.options.nodeId,
        epoch: this.options.appliedEpoch(),
        role: this.options.role,
        term: this.term,
        endpoint: this.options.dataEndpoint,
        counters: this.options.counters?.(),
        selection: this.options.selection,
      }),
    );
    this.emit('heartbeat');
  }

  /**
   * Knows `endpoint` (an address from authenticated content) as a coordinator heard now.
   * False when it is new and MAX_LEARNT_COORDINATORS are learnt already.
   */
  private learn(endpoint: Endpoint, nowMs: number): boolean {
    const known = this.known.get(key(endpoint));
    if (known) {
      known.lastHeardMs = nowMs;
      return true;
    }
    const learnt = [...this.known.values()].filter((c) => !c.configured).length;
    if (learnt >= MAX_LEARNT_COORDINATORS) {
      this.coordinatorsRefused++;
      return false;
    }
    this.known.set(key(endpoint), { endpoint, configured: false, lastHeardMs: nowMs });
    return true;
  }

  /** Learnt coordinators silent for LEARNT_COORDINATOR_TIMEOUT_MS are forgotten (not the one followed). */
  private forgetSilentCoordinators(nowMs: number): void {
    for (const [name, c] of this.known) {
      const followed = this.coordinator !== undefined && key(this.coordinator) === name;
      if (!c.configured && !followed && nowMs - c.lastHeardMs > LEARNT_COORDINATOR_TIMEOUT_MS)
        this.known.delete(name);
    }
  }

  /**
   * Fencing: a lower term than the highest seen is a deposed coordinator, ignored. The
   * coordinator of a higher (or the same) term is followed, at the address it names.
   */
  private admit(term: number, coordinator: Endpoint | undefined): boolean {
    const now = Date.now();
    if (term < this.term) {
      this.fenced++;
      return false;
    }
    this.lastHeardMs = now;
    if (!coordinator || !this.learn(coordinator, now)) {
      // Authentic and current, but naming no address we may follow: taken, followed nowhere new.
      this.term = Math.max(this.term, term);
      return true;
    }
    const moved =
      !this.coordinator ||
      this.coordinator.ip !== coordinator.ip ||
      this.coordinator.port !== coordinator.port;
    if (term > this.term || moved) {
      this.term = term;
      this.coordinator = coordinator;
      this.emit('coordinator', coordinator, term);
      // A new coordinator hears from us at once, rather than at the next heartbeat.
      if (moved) this.sendHeartbeat();
    }
    return true;
  }

  /** The cluster's heartbeat interval, from the coordinator that accepted us (SPEC §6.11). */
  private adoptHeartbeatInterval(ms: number): void {
    const [min, max] = HEARTBEAT_INTERVAL_RANGE_MS;
    if (ms === this.heartbeatIntervalMs || ms < min || ms > max) return;
    this.heartbeatIntervalMs = ms;
    // Still running unless we have left (leave() stops them for good).
    if (this.heartbeatTimer) this.startTimers();
    this.emit('timing', ms);
  }

  /** Where the sender of a TOPOLOGY_UPDATE listens: as it says, or its source when that is a configured coordinator. */
  private topologySender(view: TopologyUpdateFields, from: Endpoint): Endpoint | undefined {
    if (view.coordinator) return view.coordinator;
    return this.known.get(key(from))?.configured ? from : undefined;
  }

  private onMessage(view: ControlView, from: Endpoint): void {
    switch (view.type) {
      case 'ANNOUNCE':
        // Standbys are heartbeated, not followed.
        if (view.state === 'standby') this.learn(view.coordinator, Date.now());
        else this.admit(view.term, view.coordinator);
        return;
      case 'ACCEPT':
        if (view.nodeId !== this.options.nodeId || !this.admit(view.term, view.coordinator)) return;
        this.accepted = true;
        if (view.heartbeatIntervalMs !== undefined) this.adoptHeartbeatInterval(view.heartbeatIntervalMs);
        return;
      case 'TOPOLOGY_UPDATE':
        if (!this.admit(view.term, this.topologySender(view, from))) return;
        this.accepted = true;
        this.emit('topology', view);
        return;
      default:
        return;
    }
  }
}
