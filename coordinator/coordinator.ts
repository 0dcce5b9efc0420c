// The coordinator (DESIGN.md "Control plane"): keeps the membership from JOIN, HEARTBEAT and
// LEAVE, issues a topology with a new epoch on every change (and periodically), resends it,
// injects it in-band for round-robin, announces itself on a multicast group, and keeps the
// coverage ledger. All control I/O goes through one ControlChannel; the state it acts on is
// the pure Membership and CoverageLedger.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { ControlChannel } from '../common/control-channel.js';
import { FrameInjector } from '../native/frame-injector.js';
import {
  accept,
  announce,
  encodeInbandFrame,
  INSECURE_KEY,
  topologyUpdate,
  type ControlView,
  type Endpoint,
  type SelectionMode,
  type TopologyUpdateFields,
} from '../protocol/index.js';
import { CoverageLedger, type EpochCoverage } from './coverage-ledger.js';
import { EventLog, type ClusterEvent } from './event-log.js';
import { Membership } from './membership.js';

export interface CoordinatorConfig {
  listen: Endpoint;
  /** The address agents reach us at (concrete IPv4). */
  advertise: string;
  key: Buffer | null;
  mode: SelectionMode;
  /** Selection hash keys; undefined: derived from the cluster key. */
  hashKeys?: [number, number];
  snaplen: number;
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  topologyIntervalMs: number;
  epochIntervalMs: number;
  validityDelayMs: number;
  injectInterface?: string;
  announceGroup?: Endpoint;
  announceIntervalMs: number;
  onEvent?: (event: ClusterEvent) => void;
}

/** Static topologies (agents without a coordinator) use epoch 1; ours start above. */
const FIRST_EPOCH = 2;
/** Round-robin re-synchronisations are at most this frequent, whatever triggers them. */
const MIN_RESYNC_INTERVAL_MS = 1000;
/** Joins and timeouts arriving together become one topology. */
const COALESCE_MS = 50;

/** k0, k1 from the cluster key: every coordinator of a cluster derives the same ones. */
export function deriveHashKeys(key: Buffer | null): [number, number] {
  const mac = createHmac('sha256', key ?? INSECURE_KEY).update('dicap selection hash keys').digest();
  return [mac.readUInt32BE(0), mac.readUInt32BE(4)];
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
}

export class Coordinator {
  readonly membership = new Membership();
  readonly ledger = new CoverageLedger();
  readonly events: EventLog;
  readonly counters: CoordinatorCounters = {
    topologiesIssued: 0, topologiesSent: 0, inbandInjected: 0, inbandInjectFailures: 0, resyncs: 0, joins: 0,
    leaves: 0, timeouts: 0, ledgerReports: 0, ledgerReportsIgnored: 0, unexpectedMessages: 0,
  };
  term = 0;
  epoch = FIRST_EPOCH - 1;
  current: TopologyUpdateFields | undefined;
  /** Until the first heartbeat interval has passed we only listen: a restarted coordinator
   * learns the members, their epoch and the term from heartbeats before it issues anything. */
  gathering = true;
  readonly startedMs = Date.now();

  private readonly hashKeys: [number, number];
  private readonly timers: NodeJS.Timeout[] = [];
  private pendingTopology: NodeJS.Timeout | undefined;
  private pendingReason = '';
  private lastResyncMs = 0;
  private lastEpochMs = 0;
  private maxTermHeard = 0;
  private maxEpochHeard = 0;

  private constructor(
    readonly config: CoordinatorConfig,
    readonly channel: ControlChannel,
    private readonly injector: FrameInjector | undefined,
    private readonly injectorMac: Buffer,
  ) {
    this.events = new EventLog(undefined, config.onEvent);
    this.hashKeys = config.hashKeys ?? deriveHashKeys(config.key);
  }

  static async start(config: CoordinatorConfig): Promise<Coordinator> {
    let injector: FrameInjector | undefined;
    let mac = Buffer.alloc(6);
    if (config.injectInterface) {
      injector = new FrameInjector(config.injectInterface);
      mac = Buffer.from(fs.readFileSync(`/sys/class/net/${config.injectInterface}/address`, 'utf8').trim().replace(/:/g, ''), 'hex');
    }
    let channel: ControlChannel;
    try {
      channel = await ControlChannel.open({ bind: config.listen, key: config.key });
    } catch (error) {
      injector?.close();
      throw error;
    }
    const coordinator = new Coordinator(config, channel, injector, mac);
    coordinator.run();
    return coordinator;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.pendingTopology) clearTimeout(this.pendingTopology);
    this.injector?.close();
    await this.channel.close();
  }

  private run(): void {
    const every = (ms: number, fn: () => void): void => {
      if (ms > 0) this.timers.push(setInterval(fn, ms));
    };
    this.channel.on('message', (view, from) => this.onMessage(view, from));
    this.timers.push(setTimeout(() => this.endGathering(), this.config.heartbeatIntervalMs + 500));
    every(Math.max(50, Math.min(1000, this.config.nodeTimeoutMs / 4)), () => this.expireSilentNodes());
    every(this.config.topologyIntervalMs, () => this.resendTopology());
    every(Math.min(500, this.config.heartbeatIntervalMs), () => this.checkEpochs());
    if (this.config.announceGroup) every(this.config.announceIntervalMs, () => this.announce());
    this.announce();
  }

  private endGathering(): void {
    this.gathering = false;
    this.term = this.maxTermHeard + 1;
    this.events.add('role', `active as coordinator, term ${this.term}, ${this.membership.all().length} members known`);
    if (this.membership.captureNodeIds().length > 0) this.issueTopology('start');
  }

  private onMessage(view: ControlView, from: Endpoint): void {
    const now = Date.now();
    switch (view.type) {
      case 'JOIN': {
        const { isNew, topologyChanged } = this.membership.heard({ nodeId: view.nodeId, role: view.role, control: from, data: view.endpoint }, now);
        this.counters.joins++;
        if (isNew) this.events.add('join', `${view.role} ${view.nodeId} joined from ${from.ip}:${from.port}`);
        this.channel.send(
          accept({ nodeId: view.nodeId, term: this.term, coordinator: { ip: this.config.advertise, port: this.config.listen.port }, selection: this.config.mode, analyzers: this.membership.analyzers() }),
          from,
        );
        if (topologyChanged) this.scheduleTopology(`${view.role} ${view.nodeId} joined`);
        else if (this.current && view.role === 'capture') this.sendTopology(from); // a restarted agent
        return;
      }
      case 'HEARTBEAT': {
        this.maxTermHeard = Math.max(this.maxTermHeard, view.term ?? 0);
        this.maxEpochHeard = Math.max(this.maxEpochHeard, view.epoch);
        const role = view.role ?? 'capture';
        const { isNew, topologyChanged } = this.membership.heard({ nodeId: view.nodeId, role, control: from, data: view.endpoint, appliedEpoch: view.epoch }, now);
        if (isNew) this.events.add('join', `${role} ${view.nodeId} rejoined by heartbeat from ${from.ip}:${from.port}`);
        if (topologyChanged) this.scheduleTopology(`${role} ${view.nodeId} is back`);
        else if (role === 'capture') this.checkApplied(view.nodeId, view.epoch, from, now);
        return;
      }
      case 'LEDGER': {
        this.counters.ledgerReports++;
        const ok = this.ledger.record({
          nodeId: view.nodeId, epoch: view.epoch,
          seen: Number(view.seen), owned: Number(view.owned), exported: Number(view.exported), dropped: Number(view.dropped),
        });
        if (!ok) this.counters.ledgerReportsIgnored++;
        return;
      }
      case 'LEAVE': {
        const member = this.membership.remove(view.nodeId);
        if (!member) return;
        this.counters.leaves++;
        this.channel.forgetSender(from);
        this.ledger.departed(view.nodeId);
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

  private expireSilentNodes(): void {
    for (const member of this.membership.expire(Date.now(), this.config.nodeTimeoutMs)) {
      this.counters.timeouts++;
      this.channel.forgetSender(member.control);
      this.ledger.departed(member.nodeId);
      this.events.add('timeout', `${member.role} ${member.nodeId} silent for ${this.config.nodeTimeoutMs} ms: removed`);
      this.scheduleTopology(`${member.role} ${member.nodeId} timed out`);
    }
  }

  private scheduleTopology(reason: string): void {
    this.pendingReason = this.pendingReason ? `${this.pendingReason}; ${reason}` : reason;
    if (this.gathering || this.pendingTopology) return;
    this.pendingTopology = setTimeout(() => {
      this.pendingTopology = undefined;
      const why = this.pendingReason;
      this.pendingReason = '';
      this.issueTopology(why);
    }, COALESCE_MS);
  }

  /** A new epoch for the current membership, sent to every capture node (and in-band for round-robin). */
  issueTopology(reason: string): void {
    if (this.gathering) return;
    // This topology includes every change still waiting to be coalesced.
    if (this.pendingTopology) clearTimeout(this.pendingTopology);
    this.pendingTopology = undefined;
    this.pendingReason = '';
    const nodeIds = this.membership.captureNodeIds();
    if (nodeIds.length === 0) {
      this.events.add('topology', `no capture nodes left (${reason}); nodes keep their last topology`);
      return;
    }
    const now = Date.now();
    this.epoch = Math.max(this.epoch, this.maxEpochHeard) + 1;
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
    };
    this.lastEpochMs = now;
    this.counters.topologiesIssued++;
    this.ledger.open(this.epoch, nodeIds, this.current.validityStartMs);
    if (roundRobin) this.inject();
    for (const member of this.membership.all()) if (member.role === 'capture') this.sendTopology(member.control);
    this.events.add('topology', `epoch ${this.epoch}: ${nodeIds.length} capture nodes [${nodeIds.join(', ')}], ${this.current.analyzers.length} analyzers (${reason})`);
  }

  private sendTopology(to: Endpoint): void {
    if (!this.current) return;
    this.counters.topologiesSent++;
    this.channel.send(topologyUpdate(this.current), to);
  }

  private inject(): void {
    if (!this.injector || !this.current) return;
    const frame = encodeInbandFrame(this.injectorMac, this.channel.encode(topologyUpdate(this.current)));
    try {
      if (this.injector.send(frame)) this.counters.inbandInjected++;
      else this.counters.inbandInjectFailures++;
    } catch (error) {
      this.counters.inbandInjectFailures++;
      this.events.add('anomaly', `in-band injection on ${this.config.injectInterface} failed: ${(error as Error).message}`);
    }
  }

  private resync(reason: string): void {
    const now = Date.now();
    if (now - this.lastResyncMs < MIN_RESYNC_INTERVAL_MS) return;
    this.lastResyncMs = now;
    this.counters.resyncs++;
    this.events.add('resync', `re-synchronising round-robin: ${reason}`);
    this.issueTopology('resync');
  }

  private resendTopology(): void {
    for (const member of this.membership.all()) if (member.role === 'capture') this.sendTopology(member.control);
  }

  /** Closes settled epochs in the ledger, acts on anomalies, and starts periodic epochs. */
  private checkEpochs(): void {
    const now = Date.now();
    for (const verdict of this.ledger.close(now, this.config.heartbeatIntervalMs + 1000)) this.onVerdict(verdict);
    if (!this.gathering && this.current && this.config.epochIntervalMs > 0 && now - this.lastEpochMs >= this.config.epochIntervalMs) {
      this.issueTopology('periodic epoch');
    }
  }

  private onVerdict(verdict: EpochCoverage): void {
    if (verdict.status === 'exactly-once') {
      this.events.add('coverage', `epoch ${verdict.epoch}: ${verdict.frames} frames covered exactly once`);
      return;
    }
    this.events.add('anomaly', verdict.reason ?? `epoch ${verdict.epoch}: anomaly`);
    if (verdict.anomaly === 'seen-mismatch' && this.config.mode === 'round-robin') this.resync(`ledger of epoch ${verdict.epoch}`);
  }

  private announce(): void {
    if (!this.config.announceGroup || this.gathering) return;
    this.channel.send(announce({ term: this.term, coordinator: { ip: this.config.advertise, port: this.config.listen.port } }), this.config.announceGroup);
  }
}
