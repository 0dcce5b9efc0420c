// A member's side of the control plane (agents and analyzers): know the coordinators (static
// addresses and their multicast ANNOUNCEs), JOIN until accepted and HEARTBEAT to all of them
// (so a standby knows who is alive and can take over with the members it needs), follow the
// active one of the highest TERM only (fencing), pass its topologies on, and LEAVE when
// asked. When the coordinators are silent nothing changes: the member keeps what it has.
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
  type TopologyUpdateFields,
} from '../protocol/index.js';
import { ControlChannel } from './control-channel.js';

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
  /** Local address for the control socket (default 0.0.0.0: the routing picks the source). */
  bindIp?: string;
  /** The epoch this member applies, for its heartbeats. */
  appliedEpoch: () => number;
  /** Capture nodes: the engine's counters, sent with every heartbeat (SPEC.md §6.9). */
  counters?: () => EngineTotals;
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

const key = (e: Endpoint): string => `${e.ip}:${e.port}`;

export class CoordinatorLink extends EventEmitter<CoordinatorLinkEvents> {
  /** The active coordinator we follow (the one of the highest term). */
  coordinator: Endpoint | undefined;
  /** Every coordinator we know of, by "ip:port". */
  readonly known = new Map<string, Endpoint>();
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

  private constructor(
    private readonly options: CoordinatorLinkOptions,
    readonly channel: ControlChannel,
    private readonly discovery: ControlChannel | undefined,
  ) {
    super();
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    for (const c of options.coordinators) this.known.set(key(c), c);
    if (options.coordinators.length === 1) this.coordinator = options.coordinators[0];
  }

  static async start(options: CoordinatorLinkOptions): Promise<CoordinatorLink> {
    const channel = await ControlChannel.open({
      bind: { ip: options.bindIp ?? '0.0.0.0', port: 0 },
      key: options.key,
    });
    let discovery: ControlChannel | undefined;
    if (options.discoverGroup) {
      try {
        discovery = await ControlChannel.open({
          bind: { ip: '0.0.0.0', port: options.discoverGroup.port },
          key: options.key,
          multicastGroup: options.discoverGroup.ip,
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
    this.joinTimer = setInterval(() => !this.accepted && this.sendJoin(), joinRetry);
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
  }

  /** Sends a message to the active coordinator, if one is known. */
  send(body: ControlBody): void {
    if (this.coordinator) this.channel.send(body, this.coordinator);
  }

  /** Sends a message to every coordinator we know (active and standbys): heartbeats and reports. */
  sendToAll(body: ControlBody): void {
    for (const c of this.known.values()) this.channel.send(body, c);
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
      join({ nodeId: this.options.nodeId, role: this.options.role, endpoint: this.options.dataEndpoint }),
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
      }),
    );
    this.emit('heartbeat');
  }

  /** Fencing: a lower term than the highest seen is a deposed coordinator, ignored. */
  private admit(term: number, coordinator: Endpoint): boolean {
    if (!this.known.has(key(coordinator))) this.known.set(key(coordinator), coordinator);
    if (term < this.term) {
      this.fenced++;
      return false;
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
    this.lastHeardMs = Date.now();
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

  private onMessage(view: ControlView, from: Endpoint): void {
    switch (view.type) {
      case 'ANNOUNCE':
        // Standbys are heartbeated, not followed.
        if (view.state === 'standby') {
          if (!this.known.has(key(view.coordinator))) this.known.set(key(view.coordinator), view.coordinator);
        } else {
          this.admit(view.term, view.coordinator);
        }
        return;
      case 'ACCEPT':
        if (view.nodeId !== this.options.nodeId || !this.admit(view.term, view.coordinator)) return;
        this.accepted = true;
        if (view.heartbeatIntervalMs !== undefined) this.adoptHeartbeatInterval(view.heartbeatIntervalMs);
        return;
      case 'TOPOLOGY_UPDATE':
        if (!this.admit(view.term, from)) return;
        this.accepted = true;
        this.emit('topology', view);
        return;
      default:
        return;
    }
  }
}
