// Connects a capture engine to the coordinator: topologies from the coordinator are offered
// to the engine (hash modes: at their validity start; round-robin: the in-band frame carries
// them, so the UDP copy only tells us the coordinator), the engine's per-epoch counts go back
// as LEDGER reports, its counters at every layer ride on the heartbeats and its IPv4 ID
// histogram goes to every coordinator (the dashboard, protocol/SPEC.md §6.9), and a graceful
// stop leaves the cluster without losing this node's share.
import type { AgentControlCounts } from './summary.js';
import type { Logger } from '../common/logger.js';
import { formatFollowing, formatTopologyInForce } from './follower-log.js';
import { snaplenMismatchWarning } from '../common/cluster-options.js';
import { CoordinatorLink, type CoordinatorLinkOptions } from '../common/coordinator-link.js';
import type { CaptureEngine, EngineCounters, EngineTopology } from '../native/engine.js';
import type { KernelSelection } from '../native/kernel-selection.js';
import { ipidHistogram, ledger, type EngineTotals, type TopologyUpdateFields } from '../protocol/index.js';

export interface CoordinatorFollowerOptions extends Omit<
  CoordinatorLinkOptions,
  'role' | 'appliedEpoch' | 'dataEndpoint'
> {
  engine: CaptureEngine;
  /** The selection in the kernel in front of the engine: topologies are staged there too. */
  kernel?: KernelSelection;
  /** How long a graceful stop waits for the topology without this node to come into force. */
  leaveTimeoutMs: number;
  /** The engine's snaplen (the kernel keeps this many bytes of each frame). */
  snaplen: number;
  /** The agent's log: which coordinator it follows, each topology in force, warnings. */
  log: Pick<Logger, 'info' | 'warn'>;
}

function engineTopology(t: TopologyUpdateFields): EngineTopology {
  return {
    term: t.term,
    epoch: t.epoch,
    mode: t.selection,
    nodeIds: [...t.nodeIds],
    k0: t.k0,
    k1: t.k1,
    validityStartNs: BigInt(t.validityStartMs) * 1_000_000n,
    analyzers: t.analyzers.map((a) => ({ ip: a.ip, port: a.port })),
    snaplen: t.snaplen,
  };
}

/** The engine's counters as a HEARTBEAT carries them. */
export function engineTotals(c: EngineCounters): EngineTotals {
  return {
    ringPackets: BigInt(c.socketPackets),
    ringDrops: BigInt(c.socketDrops),
    seen: BigInt(c.seen),
    owned: BigInt(c.owned),
    exported: BigInt(c.recordsExported),
    queueDrops: BigInt(c.queueFullDrops),
    sendFailed: BigInt(c.recordsSendFailed),
    noAnalyzer: BigInt(c.recordsNoAnalyzer),
  };
}

/**
 * How late (ms past its validity start, by this agent's clock) a hash-mode topology arrived
 * that gives frames other owners than `previous` (other nodes or keys): the frames this node
 * selected between the validity start and now went by the old owners while nodes that got it
 * in time used the new ones, so some of them may be lost or doubled. Undefined when it came
 * in time or moves no frame (a takeover's same epoch under a new term, a periodic epoch).
 */
export function lateOwnerChange(
  previous: TopologyUpdateFields | undefined,
  t: TopologyUpdateFields,
  nowMs: number,
): number | undefined {
  const late = nowMs - t.validityStartMs;
  if (late <= 0 || previous === undefined) return undefined;
  const same =
    previous.k0 === t.k0 &&
    previous.k1 === t.k1 &&
    previous.selection === t.selection &&
    previous.nodeIds.length === t.nodeIds.length &&
    previous.nodeIds.every((id, k) => t.nodeIds[k] === id);
  return same ? undefined : late;
}

export class CoordinatorFollower {
  private offered = { term: -1, epoch: -1 };
  private readonly warnOnSnaplen: (t: TopologyUpdateFields) => void;
  /** The last hash-mode topology offered to the engine. */
  private lastOffered: TopologyUpdateFields | undefined;
  /** Topologies that moved frames to other owners and arrived after their validity start. */
  private lateTopologies = 0;
  /** Per epoch, the counts last reported, so unchanged epochs are not resent. */
  private readonly reported = new Map<number, string>();
  /** IPv4 frames in the last IPID_HISTOGRAM sent: an unchanged histogram is not resent. */
  private reportedIpidFrames = 0;

  private constructor(
    private readonly options: CoordinatorFollowerOptions,
    readonly link: CoordinatorLink,
  ) {
    // Selection reads the captured bytes only (SPEC §6.6): a different snaplen can mean a different owner.
    this.warnOnSnaplen = snaplenMismatchWarning(
      'agent',
      options.snaplen,
      'selection reads only the captured bytes, so owners can differ between nodes',
      (line) => options.log.warn(line),
    );
  }

  static async start(options: CoordinatorFollowerOptions): Promise<CoordinatorFollower> {
    const link = await CoordinatorLink.start({
      ...options,
      role: 'capture',
      appliedEpoch: () => options.engine.counters().epoch,
      counters: () => engineTotals(options.engine.counters()),
    });
    const follower = new CoordinatorFollower(options, link);
    link.on('topology', (t) => follower.onTopology(t));
    link.on('coordinator', (coordinator, term) => {
      const following = { coordinator, term };
      options.log.info({ following }, formatFollowing(following));
    });
    // When each topology came into force says who steered the node when (failovers, resyncs).
    options.engine.on('topology', (t, inband) => {
      const topology = {
        term: t.term,
        epoch: t.epoch,
        nodeIds: [...t.nodeIds],
        position: t.nodeIds.indexOf(options.nodeId),
        inband,
      };
      options.log.info({ topology }, formatTopologyInForce(topology));
    });
    link.on('timing', (ms) =>
      options.log.info({ heartbeatIntervalMs: ms }, `heartbeat every ${ms} ms, the cluster's interval`),
    );
    // The ledger and histogram go with every heartbeat, at the cluster's pace.
    link.on('heartbeat', () => {
      follower.reportLedger();
      follower.reportIpidHistogram();
    });
    return follower;
  }

  private onTopology(t: TopologyUpdateFields): void {
    this.warnOnSnaplen(t);
    // Periodic resends repeat a topology: offer each (term, epoch) once. A coordinator that
    // takes over resends the same epoch under its term; the engine keeps that epoch's counts.
    if (t.term < this.offered.term || (t.term === this.offered.term && t.epoch <= this.offered.epoch)) return;
    // A topology with a token is staged: it comes into force at the in-band frame carrying
    // the token (SPEC §6.10), here and in the kernel. Other round-robin topologies take
    // effect at their in-band frame, never from UDP.
    if (t.token !== undefined) {
      this.offered = { term: t.term, epoch: t.epoch };
      this.options.engine.stageTopology(engineTopology(t), t.token);
      return;
    }
    if (t.selection === 'round-robin') return;
    this.offered = { term: t.term, epoch: t.epoch };
    const late = lateOwnerChange(this.lastOffered, t, Date.now());
    this.lastOffered = t;
    if (late !== undefined) {
      this.lateTopologies++;
      this.options.log.warn(
        `the topology of epoch ${t.epoch} (nodes ${t.nodeIds.join(',')}) arrived ${late} ms after its validity start: frames of those ${late} ms may be lost or doubled; raise --validity-delay-ms on the coordinator, or find what delays this agent (${this.lateTopologies} late so far)`,
      );
    }
    // The kernel first: it must hold the topology before the first frame user space switches on.
    this.options.kernel?.stage(engineTopology(t));
    this.options.engine.offerTopology(engineTopology(t));
  }

  /** What the control channel took, rejected (by reason: forged, stale, replayed, malformed) and ignored from deposed coordinators. */
  controlCounters(): AgentControlCounts {
    return {
      received: this.link.channel.received,
      rejected: { ...this.link.channel.rejected },
      fenced: this.link.fenced,
      lateTopologies: this.lateTopologies,
    };
  }

  /** LEDGER for every epoch the engine still holds whose counts changed since the last report. */
  reportLedger(): void {
    for (const e of this.options.engine.counters().epochs) {
      const key = `${e.seen}/${e.owned}/${e.exported}/${e.dropped}`;
      if (this.reported.get(e.epoch) === key) continue;
      this.reported.set(e.epoch, key);
      this.link.send(
        ledger({
          nodeId: this.options.nodeId,
          epoch: e.epoch,
          seen: BigInt(e.seen),
          owned: BigInt(e.owned),
          exported: BigInt(e.exported),
          dropped: BigInt(e.dropped),
        }),
      );
    }
    for (const epoch of this.reported.keys())
      if (epoch < this.options.engine.counters().epoch - 32) this.reported.delete(epoch);
  }

  /** IPID_HISTOGRAM to every coordinator, when the histogram grew since the last one sent. */
  reportIpidHistogram(): void {
    const bins = this.options.engine.ipidHistogram();
    const frames = bins.reduce((sum, n) => sum + n, 0);
    if (frames === this.reportedIpidFrames) return;
    this.reportedIpidFrames = frames;
    this.link.sendToAll(ipidHistogram({ nodeId: this.options.nodeId, frames: BigInt(frames), bins }));
  }

  /**
   * Leaves the cluster: LEAVE, then keep capturing until a topology without this node is in
   * force (so no frame falls between owners), or the timeout passes; then the final ledger.
   */
  async leave(): Promise<void> {
    this.link.leave();
    const deadline = Date.now() + this.options.leaveTimeoutMs;
    while (Date.now() < deadline && this.options.engine.counters().position >= 0 && this.link.coordinator) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.reportLedger();
  }

  async stop(): Promise<void> {
    this.link.removeAllListeners('heartbeat');
    this.reportLedger();
    await this.link.stop();
  }
}
