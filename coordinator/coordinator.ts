// The coordinator (docs/DESIGN.md "Control plane"): keeps the membership from JOIN, HEARTBEAT and
// LEAVE, issues a topology with a new epoch on every change (and periodically), resends it,
// injects it in-band for round-robin, announces itself on a multicast group, and keeps the
// coverage ledger. Its clock, its control transport and its in-band injector are passed in
// (coordinator/runtime.ts gives it the wall clock, a UDP ControlChannel and an AF_PACKET
// injector; test/coordinator/ a simulated clock and network), and the state it acts on is the
// pure Membership, CoverageLedger and Election.
import { randomBytes } from 'node:crypto';
import { Histogram } from 'prom-client';
import type { Cancel, Clock } from '../common/clock.js';
import type { ControlTransport } from '../common/control-channel.js';
import type { ControlTiming } from '../common/timing.js';
import { guarded } from '../common/fault-guard.js';
import {
  accept,
  EPOCH_TERM_CEILING,
  inEpochTermSpace,
  announce,
  deriveHashKeys,
  sync,
  syncAck,
  topologyUpdate,
  vote,
  voteRequest,
  type ControlView,
  type Endpoint,
  type SelectionMode,
  type TopologyUpdateFields,
} from '../protocol/index.js';
import { CoverageLedger, type EpochCoverage } from './coverage-ledger.js';
import { Election, type ElectionAction } from './election.js';
import { EventLog, type ClusterEvent } from './event-log.js';
import type { HistorySnapshot } from './history.js';
import { Membership, type Member, type MemberAnnouncement } from './membership.js';
import { NodeReports } from './node-reports.js';
import { LedgerRounds } from './silence.js';
import { DEFAULT_MAX_MEMBERS } from './options.js';

/** Between the UDP copies of a round-robin topology (nodes stage it) and its in-band copy (they switch). */
export const INBAND_AFTER_STAGING_MS = 100;

/** A one-time token (SPEC §6.10): 64 random bits, never 0. */
function randomToken(): bigint {
  for (;;) {
    const token = randomBytes(8).readBigUInt64BE();
    if (token !== 0n) return token;
  }
}

/** Where it listens, what it steers, and the control plane's intervals (common/timing.ts). */
export interface CoordinatorConfig extends ControlTiming {
  listen: Endpoint;
  /** The address agents reach us at (concrete IPv4). */
  advertise: string;
  key: Buffer | null;
  mode: SelectionMode;
  /** Selection hash keys; undefined: derived from the cluster key. */
  hashKeys?: [number, number];
  snaplen: number;
  injectInterface?: string;
  announceGroup?: Endpoint;
  /** 1..255, unique among the cluster's coordinators (the low byte of its terms). */
  coordinatorId: number;
  /** The other coordinators (standbys or active), by ID. */
  peers: ReadonlyArray<{ id: number; endpoint: Endpoint }>;
  /** Where this coordinator serves its dashboard, told to standbys in SYNC (protocol/SPEC.md §6.9). */
  dashboard?: Endpoint;
  /** Members at most (capture nodes and analyzers, 1..MAX_SYNC_MEMBERS; default DEFAULT_MAX_MEMBERS); JOINs beyond are refused and counted. */
  maxMembers?: number;
  onEvent?: (event: ClusterEvent) => void;
  /** The previous active's history (a standby's HistoryFollower): taken over on becoming active. */
  history?: () => HistorySnapshot | undefined;
}

/** Static topologies (agents without a coordinator) use epoch 1; ours start above. */
const FIRST_EPOCH = 2;
/** Round-robin re-synchronisations are at most this frequent, whatever triggers them. */
const MIN_RESYNC_INTERVAL_MS = 1000;
/** Joins and timeouts arriving together become one topology. */
const COALESCE_MS = 50;
/** A topology goes to this many members per turn of the event loop, so SIGTERM and HTTP are served between. */
const SENDS_PER_TURN = 256;

/** CPU seconds of the main thread's work since `since` (process.cpuUsage(), user and system). */
function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Puts a topology onto the monitored link as an in-band frame (round-robin); false or a throw when it failed. */
export interface InbandInjector {
  inject(topology: TopologyUpdateFields): boolean;
  close(): void;
}

/** What the coordinator acts through: passed in, so tests can simulate all of it. */
export interface CoordinatorIo {
  clock: Clock;
  transport: ControlTransport;
  injector?: InbandInjector;
  /** The election's jitter (default Math.random). */
  random?: () => number;
}

export interface CoordinatorCounters {
  topologiesIssued: number;
  topologiesSent: number;
  inbandInjected: number;
  inbandInjectFailures: number;
  resyncs: number;
  joins: number;
  leaves: number;
  timeouts: number;
  ledgerReports: number;
  ledgerReportsIgnored: number;
  unexpectedMessages: number;
  syncsSent: number;
  syncsApplied: number;
  elections: number;
  failovers: number;
  /** New members refused because --max-members were known already (JOIN or a heartbeat of an unknown node). */
  joinsRefused: number;
  /** Reports (IPID_HISTOGRAM, ANALYZER_REPORT) from IDs that are no members, not kept. */
  reportsIgnored: number;
  /** Messages whose EPOCH or TERM lies in the reserve (SPEC.md §6.7): the numbers are not taken. */
  reservedValuesIgnored: number;
  /** New epochs not issued because the epoch space is exhausted (SPEC.md §6.7). */
  epochsRefused: number;
}

/** Whether a message carries an EPOCH, TERM or SEEN_TERM in the reserve (SPEC.md §6.7). */
function carriesReservedValue(view: ControlView): boolean {
  const epoch = 'epoch' in view ? view.epoch : undefined;
  const term = 'term' in view ? view.term : undefined;
  return (epoch !== undefined && !inEpochTermSpace(epoch)) || (term !== undefined && !inEpochTermSpace(term));
}

export class Coordinator {
  readonly membership: Membership;
  readonly ledger: CoverageLedger;
  /** Counters, histograms and analyzer reports for the dashboard (protocol/SPEC.md §6.9). */
  readonly reports = new NodeReports();
  readonly events: EventLog;
  readonly counters: CoordinatorCounters = {
    topologiesIssued: 0,
    topologiesSent: 0,
    inbandInjected: 0,
    inbandInjectFailures: 0,
    resyncs: 0,
    joins: 0,
    leaves: 0,
    timeouts: 0,
    ledgerReports: 0,
    ledgerReportsIgnored: 0,
    unexpectedMessages: 0,
    syncsSent: 0,
    syncsApplied: 0,
    elections: 0,
    failovers: 0,
    joinsRefused: 0,
    reportsIgnored: 0,
    reservedValuesIgnored: 0,
    epochsRefused: 0,
  };
  /**
   * What one topology change costs this coordinator, for operators sizing a cluster
   * (registered by metrics.ts): the CPU of building the new epoch, encoding it once and
   * handing it to every member's socket (summed over the turns it is sent in), and the
   * time from the change until the last member's copy was sent.
   */
  readonly topologyChangeCpu = new Histogram({
    name: 'dicap_coordinator_topology_change_cpu_seconds',
    help: 'CPU time of one topology change: building the new epoch, encoding it and sending it to every member',
    buckets: [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1],
    registers: [],
  });
  readonly topologyChangeSent = new Histogram({
    name: 'dicap_coordinator_topology_change_sent_seconds',
    help: 'Time from a topology change until its copy to the last member was sent',
    buckets: [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3],
    registers: [],
  });
  epoch = FIRST_EPOCH - 1;
  current: TopologyUpdateFields | undefined;
  /** Who steers. A coordinator starts as a standby and only listens: before it acts it learns
   * the members, their epoch and the term from SYNC and heartbeats (protocol/SPEC.md §6.8). */
  readonly election: Election;
  readonly startedMs: number;
  lastSyncMs: number | undefined;
  /** Peers heard from (any message), by coordinator ID. */
  readonly peersHeardMs = new Map<number, number>();
  /** Where peers that sent us SYNC serve their dashboards, by coordinator ID. */
  readonly peerDashboards = new Map<number, Endpoint | undefined>();

  /** The control transport (a ControlChannel in production). */
  readonly channel: ControlTransport;
  private readonly clock: Clock;
  private readonly injector: InbandInjector | undefined;
  private readonly hashKeys: [number, number];
  /** Capture nodes' ledger rounds: a node silent while its peers report is gone early. */
  private readonly ledgerRounds: LedgerRounds;
  private readonly timers: Cancel[] = [];
  private pendingTopology: Cancel | undefined;
  /** The topology still being sent to the members, a slice per turn (a newer one cancels it). */
  private distribution: Cancel | undefined;
  private pendingReason = '';
  private lastResyncMs = 0;
  private lastEpochMs = 0;
  private maxTermHeard = 0;
  private maxEpochHeard = 0;

  constructor(
    readonly config: CoordinatorConfig,
    io: CoordinatorIo,
  ) {
    this.clock = io.clock;
    this.channel = io.transport;
    this.membership = new Membership(config.maxMembers ?? DEFAULT_MAX_MEMBERS);
    // Hash modes switch at a validity start in frame time, round-robin at an in-band frame.
    this.ledger = new CoverageLedger({ timedSwitch: config.mode !== 'round-robin' });
    this.injector = io.injector;
    this.startedMs = this.clock.now();
    this.events = new EventLog(undefined, config.onEvent, () => this.clock.now());
    this.hashKeys = config.hashKeys ?? deriveHashKeys(config.key);
    this.ledgerRounds = new LedgerRounds(config.heartbeatIntervalMs);
    this.election = new Election(
      {
        selfId: config.coordinatorId,
        peerIds: config.peers.map((p) => p.id),
        electionTimeoutMs: config.electionTimeoutMs,
        firstWaitMs: config.heartbeatIntervalMs + 500,
        solitudeMs: config.solitudeMs,
        random: io.random,
      },
      this.startedMs,
    );
  }

  get term(): number {
    return this.election.term;
  }

  get active(): boolean {
    return this.election.role === 'active';
  }

  /** The ledger and events a standby takes over when it becomes active (GET /history). */
  history(): HistorySnapshot {
    return {
      coordinatorId: this.config.coordinatorId,
      term: this.term,
      atMs: this.clock.now(),
      ledger: this.ledger.recent(),
      ledgerTotals: this.ledger.totals(),
      events: [...this.events.list()],
    };
  }

  /** Starts the timers; messages come in through receive(). */
  start(): void {
    // A throw in a timer is counted and logged, never the end of the coordinator.
    const every = (ms: number, fn: () => void): void => {
      if (ms > 0) this.timers.push(this.clock.every(ms, guarded('coordinator timer', fn)));
    };
    // A tenth of the election timeout: a standby stands, and an active steps down, promptly.
    every(Math.min(100, this.config.syncIntervalMs, this.config.electionTimeoutMs / 10), () =>
      this.tickElection(),
    );
    // A quarter of a heartbeat interval: a dead node is noticed soon after its silence counts.
    every(
      Math.max(20, Math.min(1000, this.config.heartbeatIntervalMs / 4)),
      () => this.active && this.expireSilentNodes(),
    );
    every(this.config.topologyIntervalMs, () => this.active && this.distributeTopology());
    every(Math.min(500, this.config.heartbeatIntervalMs), () => this.active && this.checkEpochs());
    every(this.config.syncIntervalMs, () => this.active && this.sendSync());
    if (this.config.announceGroup) every(this.config.announceIntervalMs, () => this.announce());
  }

  async stop(): Promise<void> {
    for (const cancel of this.timers.splice(0)) cancel();
    this.pendingTopology?.();
    this.pendingTopology = undefined;
    this.distribution?.();
    this.distribution = undefined;
    this.injector?.close();
    await this.channel.close();
  }

  private tickElection(): void {
    this.act(this.election.tick(this.clock.now(), this.maxTermHeard, this.witnessed()));
  }

  /**
   * A majority of the known capture nodes heartbeat to us (the solitude rule's witnesses):
   * each heard within a node timeout, and after our peers fell silent (plus one heartbeat
   * interval for heartbeats in flight). Heartbeats from before are no evidence: a coordinator
   * cut off from everything still remembers them for a node timeout (15 s by default, longer
   * than the solitude timeout), and would make itself active with a higher term that deposes
   * the real active when it comes back (found in the lab: management link down).
   */
  private witnessed(): boolean {
    const now = this.clock.now();
    const since = Math.max(0, ...this.peersHeardMs.values()) + this.config.heartbeatIntervalMs;
    const capture = this.membership.all().filter((m) => m.role === 'capture');
    const recent = capture.filter(
      (m) => now - m.lastHeardMs <= this.config.nodeTimeoutMs && m.lastHeardMs > since,
    ).length;
    return recent > 0 && recent * 2 > capture.length;
  }

  private act(action: ElectionAction | undefined): void {
    if (!action) return;
    switch (action.kind) {
      case 'request-votes':
        if (!action.preVote) {
          this.counters.elections++;
          this.events.add('role', `standing for election in term ${action.term}`);
        }
        for (const peer of this.config.peers) {
          this.channel.send(
            voteRequest({
              term: action.term,
              coordinatorId: this.config.coordinatorId,
              epoch: this.epoch,
              preVote: action.preVote,
            }),
            peer.endpoint,
          );
        }
        return;
      case 'become-active':
        this.becomeActive(action.why);
        return;
      case 'step-down':
        this.pendingTopology?.();
        this.pendingTopology = undefined;
        this.events.add('role', `stepping down in term ${action.term}: ${action.why}`);
        return;
    }
  }

  private becomeActive(why: string): void {
    const now = this.clock.now();
    const takeover = this.current !== undefined;
    if (takeover) this.counters.failovers++;
    // The old active's ledger and events first: our own epochs and events join them.
    const history = this.config.history?.();
    if (history) {
      this.ledger.restore(history.ledger, history.ledgerTotals);
      this.events.restore(history.events);
    }
    this.events.add(
      'role',
      `active as coordinator, term ${this.term} (${why}), ${this.membership.all().length} members known`,
    );
    // Members from SYNC count as heard now: they heartbeat to us from here on. Those that
    // joined while we only listened get their ACCEPT now.
    for (const m of this.membership.all()) {
      m.lastHeardMs = now;
      if (!takeover) this.sendAccept(m.nodeId, m.control);
    }
    this.lastEpochMs = now;
    this.sendSync();
    this.announce();
    if (this.current) {
      // A failover keeps the epoch and so the owners: the same topology, under our term.
      this.current = { ...this.current, term: this.term };
      this.ledger.open(this.current.epoch, [...this.current.nodeIds], this.current.validityStartMs);
      this.distributeTopology();
    } else if (this.membership.captureNodeIds().length > 0) {
      this.issueTopology('start');
    }
  }

  /** One authenticated control message from `from`. */
  receive(received: ControlView, from: Endpoint): void {
    const now = this.clock.now();
    let view = received;
    if (carriesReservedValue(view)) {
      this.counters.reservedValuesIgnored++;
      // A member past the reserve (an agent that took a forged in-band epoch) stays a member
      // and is sent the current topology; its numbers are not taken. Anything else is dropped.
      if (view.type !== 'HEARTBEAT') return;
      view = { ...view, epoch: 0, term: undefined };
    }
    if (this.onPeerMessage(view, now)) return;
    if (view.type === 'IPID_HISTOGRAM' || view.type === 'ANALYZER_REPORT') {
      // Kept only about members (and capture nodes that departed lately): no state for strangers.
      const about = view.type === 'ANALYZER_REPORT' ? view.sourceNodeId : view.nodeId;
      const known =
        this.membership.get(view.nodeId) !== undefined &&
        (this.membership.get(about) !== undefined || this.reports.capture.has(about));
      if (known) this.reports.observe(view, now);
      else this.counters.reportsIgnored++;
      return;
    }
    if (view.type === 'HEARTBEAT') {
      this.maxTermHeard = Math.max(this.maxTermHeard, view.term ?? 0);
      this.maxEpochHeard = Math.max(this.maxEpochHeard, view.epoch);
      // A member that has seen a higher term knows an active we do not: we are deposed.
      if (view.term !== undefined) this.act(this.election.observeTerm(view.term, now));
    }
    if (!this.active) {
      // Standbys only keep track of who is there (witnesses, and the members a first active
      // starts with); the active answers. A JOIN heard now is accepted when we become active.
      if (view.type === 'HEARTBEAT') {
        const heard = this.admit(
          {
            nodeId: view.nodeId,
            role: view.role ?? 'capture',
            control: from,
            data: view.endpoint,
            appliedEpoch: view.epoch,
            selection: view.selection,
          },
          now,
        );
        if (heard) this.reports.observe(view, now);
      }
      if (view.type === 'JOIN') this.join(view, from, now);
      return;
    }
    switch (view.type) {
      case 'JOIN': {
        const heard = this.join(view, from, now);
        if (!heard) return;
        this.sendAccept(view.nodeId, from);
        if (heard.topologyChanged) this.scheduleTopology(`${view.role} ${view.nodeId} joined`);
        else if (this.current && view.role === 'capture') this.sendTopology(from); // a restarted agent
        return;
      }
      case 'HEARTBEAT': {
        const role = view.role ?? 'capture';
        const heard = this.admit(
          {
            nodeId: view.nodeId,
            role,
            control: from,
            data: view.endpoint,
            appliedEpoch: view.epoch,
            selection: view.selection,
          },
          now,
        );
        if (!heard) return;
        this.reports.observe(view, now);
        if (heard.isNew)
          this.events.add(
            'join',
            `${role} ${view.nodeId} rejoined by heartbeat from ${from.ip}:${from.port}`,
          );
        if (heard.topologyChanged) this.scheduleTopology(`${role} ${view.nodeId} is back`);
        else if (role === 'capture') this.checkApplied(view.nodeId, view.epoch, from, now);
        return;
      }
      case 'LEDGER': {
        this.counters.ledgerReports++;
        if (this.membership.get(view.nodeId)?.role === 'capture')
          this.ledgerRounds.reported(view.nodeId, now);
        const ok = this.ledger.record({
          nodeId: view.nodeId,
          epoch: view.epoch,
          seen: Number(view.seen),
          owned: Number(view.owned),
          exported: Number(view.exported),
          dropped: Number(view.dropped),
        });
        if (!ok) this.counters.ledgerReportsIgnored++;
        return;
      }
      case 'LEAVE': {
        const member = this.membership.remove(view.nodeId);
        if (!member) return;
        this.counters.leaves++;
        this.reports.departed(view.nodeId, 'left', now);
        this.ledger.departed(view.nodeId, 'left');
        this.ledgerRounds.forget(view.nodeId);
        this.events.add('leave', `${member.role} ${view.nodeId} left`);
        this.issueTopology(`${member.role} ${view.nodeId} left`);
        // The leaver keeps capturing until this topology is in force, so nothing falls between owners.
        this.sendTopology(from);
        return;
      }
      default:
        this.counters.unexpectedMessages++;
    }
  }

  /** Messages between coordinators (and other coordinators' announcements); true when handled. */
  private onPeerMessage(view: ControlView, now: number): boolean {
    const peer = (id: number | undefined) =>
      id === undefined ? undefined : this.config.peers.find((p) => p.id === id);
    switch (view.type) {
      case 'SYNC': {
        const sender = peer(view.coordinatorId);
        if (!sender) return this.unexpected();
        this.peersHeardMs.set(sender.id, now);
        this.peerDashboards.set(sender.id, view.dashboard);
        const { follow, action } = this.election.onSync(view.term, sender.id, now);
        this.act(action);
        if (follow) this.applySync(view.epoch, view.members, now);
        // Acked with our term either way: a deposed active learns the higher term from it.
        this.channel.send(
          syncAck({ term: this.term, coordinatorId: this.config.coordinatorId }),
          sender.endpoint,
        );
        return true;
      }
      case 'SYNC_ACK': {
        if (!peer(view.coordinatorId)) return this.unexpected();
        this.peersHeardMs.set(view.coordinatorId, now);
        this.act(this.election.onSyncAck(view.term, view.coordinatorId, now));
        return true;
      }
      case 'VOTE_REQUEST': {
        const candidate = peer(view.coordinatorId);
        if (!candidate) return this.unexpected();
        this.peersHeardMs.set(candidate.id, now);
        const { grant, action } = this.election.onVoteRequest(
          view.term,
          candidate.id,
          view.epoch,
          this.epoch,
          view.preVote ?? false,
          now,
        );
        this.act(action);
        if (grant)
          this.channel.send(
            vote({ term: view.term, coordinatorId: this.config.coordinatorId, preVote: view.preVote }),
            candidate.endpoint,
          );
        return true;
      }
      case 'VOTE': {
        if (!peer(view.coordinatorId)) return this.unexpected();
        this.peersHeardMs.set(view.coordinatorId, now);
        this.act(this.election.onVote(view.term, view.coordinatorId, view.preVote ?? false, now));
        return true;
      }
      case 'ANNOUNCE':
      case 'TOPOLOGY_UPDATE':
      case 'ACCEPT':
        // Another coordinator steering in a higher term: we are deposed.
        if (view.type !== 'ANNOUNCE' || view.state !== 'standby')
          this.act(this.election.observeTerm(view.term, now));
        return true;
      default:
        return false;
    }
  }

  /** A JOIN, in every role: counted, the member admitted (or refreshed), a new one logged; undefined when refused. */
  private join(
    view: Extract<ControlView, { type: 'JOIN' }>,
    from: Endpoint,
    now: number,
  ): ReturnType<Membership['heard']> | undefined {
    this.counters.joins++;
    const heard = this.admit(
      { nodeId: view.nodeId, role: view.role, control: from, data: view.endpoint, selection: view.selection },
      now,
    );
    if (heard?.isNew)
      this.events.add('join', `${view.role} ${view.nodeId} joined from ${from.ip}:${from.port}`);
    return heard;
  }

  /**
   * A JOIN or HEARTBEAT into the membership; undefined (counted, and said in an event now and
   * then) when the member is new and --max-members are known already.
   */
  private admit(m: MemberAnnouncement, now: number): ReturnType<Membership['heard']> | undefined {
    const heard = this.membership.heard(m, now);
    // A node that fell back (say from XDP to the socket filter after a restart) costs more
    // CPU per frame: say so where operators look, not only in the nodes table.
    if (heard.selectionBefore && m.selection)
      this.events.add(
        'selection',
        `${m.role} ${m.nodeId} now selects in ${m.selection.stage} (${m.selection.reason}), before in ${heard.selectionBefore.stage} (${heard.selectionBefore.reason})`,
      );
    if (!heard.refused) return heard;
    if (this.counters.joinsRefused++ % 1000 === 0)
      this.events.add(
        'anomaly',
        `${m.role} ${m.nodeId} refused: the membership is full (${this.membership.maxMembers}, --max-members); ${this.counters.joinsRefused} refused so far`,
      );
    return undefined;
  }

  private unexpected(): true {
    this.counters.unexpectedMessages++;
    return true;
  }

  /** The active's state, as a standby keeps it: members, epoch, and the topology they imply. */
  private applySync(
    epoch: number,
    members: ReadonlyArray<{ nodeId: number; role: Member['role']; endpoint: Endpoint }>,
    now: number,
  ): void {
    this.counters.syncsApplied++;
    this.lastSyncMs = now;
    const listed = new Set(members.map((m) => m.nodeId));
    for (const m of this.membership.all()) if (!listed.has(m.nodeId)) this.membership.remove(m.nodeId);
    for (const m of members) {
      const known = this.membership.get(m.nodeId);
      this.admit(
        m.role === 'analyzer'
          ? { nodeId: m.nodeId, role: m.role, control: known?.control ?? m.endpoint, data: m.endpoint }
          : { nodeId: m.nodeId, role: m.role, control: m.endpoint },
        known?.lastHeardMs ?? now,
      );
    }
    this.epoch = Math.max(this.epoch, epoch);
    const nodeIds = this.membership.captureNodeIds();
    this.current =
      nodeIds.length === 0
        ? undefined
        : {
            term: this.term,
            epoch,
            selection: this.config.mode,
            validityStartMs: now,
            nodeIds,
            analyzers: this.membership.analyzers(),
            k0: this.hashKeys[0],
            k1: this.hashKeys[1],
            snaplen: this.config.snaplen,
          };
  }

  private sendAccept(nodeId: number, to: Endpoint): void {
    this.channel.send(
      accept({
        nodeId,
        term: this.term,
        coordinator: { ip: this.config.advertise, port: this.config.listen.port },
        selection: this.config.mode,
        analyzers: this.membership.analyzers(),
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        coordinatorId: this.config.coordinatorId,
      }),
      to,
    );
  }

  private sendSync(): void {
    if (this.config.peers.length === 0) return;
    const members = this.membership.all().map((m) => ({
      nodeId: m.nodeId,
      role: m.role,
      endpoint: m.role === 'analyzer' && m.data ? m.data : m.control,
    }));
    const body = sync({
      term: this.term,
      epoch: this.epoch,
      members,
      coordinatorId: this.config.coordinatorId,
      dashboard: this.config.dashboard,
    });
    for (const peer of this.config.peers) this.channel.send(body, peer.endpoint);
    this.counters.syncsSent++;
  }

  /** A capture node still on an older epoch well after the current one came into force missed it. */
  private checkApplied(nodeId: number, appliedEpoch: number, from: Endpoint, now: number): void {
    const current = this.current;
    if (!current || appliedEpoch >= current.epoch || !current.nodeIds.includes(nodeId)) return;
    if (now < current.validityStartMs + this.config.heartbeatIntervalMs + 1000) return;
    if (this.config.mode === 'round-robin') {
      // It missed the in-band frame: its counter is not where the others' are.
      this.resync(`node ${nodeId} still applies epoch ${appliedEpoch} of round-robin, not ${current.epoch}`);
    } else {
      this.sendTopology(from);
    }
  }

  /**
   * Removes members silent for the node timeout, and capture nodes silent while their peers
   * keep reporting (silence.ts); the topology without them is issued at once.
   */
  private expireSilentNodes(): void {
    const now = this.clock.now();
    const capture = this.membership.all().filter((m) => m.role === 'capture');
    const early = this.ledgerRounds.silentWhilePeersReport(capture, now);
    const gone = [
      ...early.map((m) => ({ member: this.membership.remove(m.nodeId)!, peersReported: true })),
      ...this.membership
        .expire(now, this.config.nodeTimeoutMs)
        .map((member) => ({ member, peersReported: false })),
    ];
    for (const { member, peersReported } of gone) {
      this.counters.timeouts++;
      this.reports.departed(member.nodeId, 'timeout', now);
      this.ledger.departed(member.nodeId, 'timeout');
      this.ledgerRounds.forget(member.nodeId);
      this.events.add(
        'timeout',
        peersReported
          ? `${member.role} ${member.nodeId} silent for ${now - member.lastHeardMs} ms while its peers kept reporting: removed`
          : `${member.role} ${member.nodeId} silent for ${this.config.nodeTimeoutMs} ms: removed`,
      );
    }
    if (gone.length > 0)
      this.issueTopology(gone.map(({ member }) => `${member.role} ${member.nodeId} timed out`).join('; '));
  }

  private scheduleTopology(reason: string): void {
    this.pendingReason = this.pendingReason ? `${this.pendingReason}; ${reason}` : reason;
    if (!this.active || this.pendingTopology) return;
    this.pendingTopology = this.clock.after(
      COALESCE_MS,
      guarded('coordinator topology', () => {
        this.pendingTopology = undefined;
        const why = this.pendingReason;
        this.pendingReason = '';
        this.issueTopology(why);
      }),
    );
  }

  /** A new epoch for the current membership, sent to every capture node (and in-band for round-robin). */
  issueTopology(reason: string): void {
    if (!this.active) return;
    // This topology includes every change still waiting to be coalesced.
    this.pendingTopology?.();
    this.pendingTopology = undefined;
    this.pendingReason = '';
    const change = { cpuSince: process.cpuUsage(), startedMs: performance.now() };
    const nodeIds = this.membership.captureNodeIds();
    if (nodeIds.length === 0) {
      this.events.add('topology', `no capture nodes left (${reason}); nodes keep their last topology`);
      return;
    }
    const now = this.clock.now();
    const epoch = Math.max(this.epoch, this.maxEpochHeard) + 1;
    if (epoch >= EPOCH_TERM_CEILING) {
      if (this.counters.epochsRefused++ === 0)
        this.events.add(
          'anomaly',
          `no new epoch (${reason}): epoch ${epoch} would enter the reserve above ${EPOCH_TERM_CEILING - 1} (SPEC §6.7); the cluster keeps epoch ${this.epoch}`,
        );
      return;
    }
    this.epoch = epoch;
    const roundRobin = this.config.mode === 'round-robin';
    this.current = {
      term: this.term,
      epoch: this.epoch,
      selection: this.config.mode,
      // Round-robin switches at the in-band frame; hash modes at a common instant ahead.
      validityStartMs: roundRobin ? now : now + this.config.validityDelayMs,
      nodeIds,
      analyzers: this.membership.analyzers(),
      k0: this.hashKeys[0],
      k1: this.hashKeys[1],
      snaplen: this.config.snaplen,
      // Round-robin: the nodes stage it from UDP, and the in-band copy carrying this
      // one-time token switches them, in the kernel too (SPEC §6.10).
      ...(roundRobin ? { token: randomToken() } : {}),
    };
    this.lastEpochMs = now;
    this.counters.topologiesIssued++;
    this.sendSync(); // standbys learn the new epoch at once
    this.ledger.open(this.epoch, nodeIds, this.current.validityStartMs);
    this.distributeTopology(change);
    // Staged first (the UDP copies), switched after: a node that has not staged the token
    // when the in-band copy passes cannot switch in the kernel.
    if (roundRobin) {
      const staged = this.current;
      this.clock.after(INBAND_AFTER_STAGING_MS, () => {
        if (this.active && this.current === staged) this.inject();
      });
    }
    this.events.add(
      'topology',
      `epoch ${this.epoch}: ${nodeIds.length} capture nodes [${nodeIds.join(', ')}], ${this.current.analyzers.length} analyzers (${reason})`,
    );
  }

  private sendTopology(to: Endpoint): void {
    if (!this.current) return;
    this.counters.topologiesSent++;
    this.channel.send(topologyUpdate(this.asSent(this.current)), to);
  }

  /** A topology as this coordinator sends it: naming itself and where it listens (SPEC.md §6.4, §6.7). */
  private asSent(topology: TopologyUpdateFields): TopologyUpdateFields {
    return {
      ...topology,
      coordinatorId: this.config.coordinatorId,
      coordinator: { ip: this.config.advertise, port: this.config.listen.port },
    };
  }

  private inject(): void {
    if (!this.injector || !this.current) return;
    try {
      if (this.injector.inject(this.asSent(this.current))) this.counters.inbandInjected++;
      else this.counters.inbandInjectFailures++;
    } catch (error) {
      this.counters.inbandInjectFailures++;
      this.events.add(
        'anomaly',
        `in-band injection on ${this.config.injectInterface} failed: ${(error as Error).message}`,
      );
    }
  }

  private resync(reason: string): void {
    const now = this.clock.now();
    if (now - this.lastResyncMs < MIN_RESYNC_INTERVAL_MS) return;
    this.lastResyncMs = now;
    this.counters.resyncs++;
    this.events.add('resync', `re-synchronising round-robin: ${reason}`);
    this.issueTopology('resync');
  }

  /**
   * The current topology to every capture node: encoded once (one SENDER_SEQ, the same bytes
   * for all), sent SENDS_PER_TURN members per turn of the event loop, so the work grows
   * linearly with the membership and the process stays responsive. A newer distribution
   * replaces one still under way. For a `change` (a new epoch) its cost is observed once the
   * last member's copy is sent: the CPU of every turn (the first from the change's start).
   */
  private distributeTopology(change?: { cpuSince: NodeJS.CpuUsage; startedMs: number }): void {
    this.distribution?.();
    this.distribution = undefined;
    if (!this.current) return;
    let bytes: Buffer;
    try {
      bytes = this.channel.encode(topologyUpdate(this.asSent(this.current)));
    } catch (error) {
      this.events.add(
        'anomaly',
        `topology of epoch ${this.current.epoch} not sent: ${(error as Error).message}`,
      );
      return;
    }
    // Analyzers too: in a keyed cluster they take batches only from the topology's nodes.
    const targets = this.membership
      .all()
      .filter((m) => m.role === 'capture' || m.role === 'analyzer')
      .map((m) => m.control);
    let cpuSeconds = 0;
    const sendFrom = (first: number, turnSince: NodeJS.CpuUsage): void => {
      this.distribution = undefined;
      for (const to of targets.slice(first, first + SENDS_PER_TURN)) {
        this.counters.topologiesSent++;
        this.channel.sendEncoded(bytes, to);
      }
      cpuSeconds += cpuSecondsSince(turnSince);
      if (first + SENDS_PER_TURN < targets.length) {
        this.distribution = this.clock.after(
          0,
          guarded('coordinator topology', () => sendFrom(first + SENDS_PER_TURN, process.cpuUsage())),
        );
      } else if (change) {
        this.topologyChangeCpu.observe(cpuSeconds);
        this.topologyChangeSent.observe((performance.now() - change.startedMs) / 1000);
      }
    };
    sendFrom(0, change?.cpuSince ?? process.cpuUsage());
  }

  /** Closes settled epochs in the ledger, acts on anomalies, and starts periodic epochs. */
  private checkEpochs(): void {
    const now = this.clock.now();
    const silent = new Set(
      this.membership
        .all()
        .filter((m) => now - m.lastHeardMs > 2 * this.config.heartbeatIntervalMs)
        .map((m) => m.nodeId),
    );
    for (const verdict of this.ledger.close(now, this.config.heartbeatIntervalMs + 1000, silent))
      this.onVerdict(verdict);
    // Without capture nodes there is nothing to account (and no topology to issue): no periodic epoch.
    const due = this.config.epochIntervalMs > 0 && now - this.lastEpochMs >= this.config.epochIntervalMs;
    if (this.current && due && this.membership.captureNodeIds().length > 0) {
      this.issueTopology('periodic epoch');
    }
  }

  private onVerdict(verdict: EpochCoverage): void {
    if (verdict.status === 'exactly-once') {
      this.events.add('coverage', `epoch ${verdict.epoch}: ${verdict.frames} frames covered exactly once`);
      return;
    }
    this.events.add('anomaly', verdict.reason ?? `epoch ${verdict.epoch}: anomaly`);
    if (verdict.anomaly === 'seen-mismatch' && this.config.mode === 'round-robin')
      this.resync(`ledger of epoch ${verdict.epoch}`);
  }

  /** Every coordinator announces itself (standbys too, so agents heartbeat to all of them). */
  private announce(): void {
    if (!this.config.announceGroup || (this.election.role !== 'active' && this.term === 0)) return;
    const state = this.active ? 'active' : 'standby';
    this.channel.send(
      announce({
        term: this.term,
        coordinator: { ip: this.config.advertise, port: this.config.listen.port },
        state,
        coordinatorId: this.config.coordinatorId,
      }),
      this.config.announceGroup,
    );
  }
}
