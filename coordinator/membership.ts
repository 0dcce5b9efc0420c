// Who is in the cluster: capture nodes and analyzers, with where to reach them and when
// they were last heard from. Pure state (the caller passes the clock); the coordinator
// turns its changes into topologies. Bounded: at most `maxMembers`; a new member beyond that
// is refused (the coordinator counts it), so a join storm cannot grow the table or the
// topology without limit.
import type { Endpoint, Role, SelectionStageReport } from '../protocol/index.js';

export interface Member {
  nodeId: number;
  role: Role;
  /** Where its control messages come from, and where ours go. */
  control: Endpoint;
  /** Analyzers: where capture nodes send header batches. */
  data?: Endpoint;
  joinedMs: number;
  lastHeardMs: number;
  /** The epoch it last said it applies (heartbeats). */
  appliedEpoch: number;
  /** Capture nodes: where they select and why, as their last JOIN or HEARTBEAT said (absent from older agents). */
  selection?: SelectionStageReport;
}

export interface MemberAnnouncement {
  nodeId: number;
  role: Role;
  control: Endpoint;
  data?: Endpoint;
  appliedEpoch?: number;
  selection?: SelectionStageReport;
}

function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a?.ip === b?.ip && a?.port === b?.port;
}

export interface Heard {
  isNew: boolean;
  topologyChanged: boolean;
  /** Set when `m` was new and the membership is full: nothing was recorded. */
  refused?: true;
  /** A known capture node now selects elsewhere or for another reason: what it said before. */
  selectionBefore?: SelectionStageReport;
}

export class Membership {
  private readonly byId = new Map<number, Member>();

  constructor(readonly maxMembers = Infinity) {}

  /**
   * A JOIN or HEARTBEAT from `m`. Returns whether the topology changes: a new member, or an
   * analyzer that moved its data endpoint. A capture node's control address may change (a
   * restarted agent with the same node ID) without changing the topology. A new member when
   * `maxMembers` are known already is refused.
   */
  heard(m: MemberAnnouncement, nowMs: number): Heard {
    const known = this.byId.get(m.nodeId);
    if (!known && this.byId.size >= this.maxMembers)
      return { isNew: false, topologyChanged: false, refused: true };
    if (!known) {
      this.byId.set(m.nodeId, {
        ...m,
        joinedMs: nowMs,
        lastHeardMs: nowMs,
        appliedEpoch: m.appliedEpoch ?? 0,
      });
      return { isNew: true, topologyChanged: true };
    }
    const topologyChanged =
      known.role !== m.role || (m.role === 'analyzer' && !sameEndpoint(known.data, m.data));
    known.role = m.role;
    known.control = m.control;
    if (m.data) known.data = m.data;
    known.lastHeardMs = nowMs;
    if (m.appliedEpoch !== undefined) known.appliedEpoch = m.appliedEpoch;
    const before = known.selection;
    if (m.selection) known.selection = m.selection;
    const selectionChanged =
      before !== undefined &&
      m.selection !== undefined &&
      (before.stage !== m.selection.stage || before.reason !== m.selection.reason);
    return { isNew: false, topologyChanged, ...(selectionChanged ? { selectionBefore: before } : {}) };
  }

  get(nodeId: number): Member | undefined {
    return this.byId.get(nodeId);
  }

  remove(nodeId: number): Member | undefined {
    const member = this.byId.get(nodeId);
    this.byId.delete(nodeId);
    return member;
  }

  /** Removes and returns every member not heard from for more than `timeoutMs`. */
  expire(nowMs: number, timeoutMs: number): Member[] {
    const gone = [...this.byId.values()].filter((m) => nowMs - m.lastHeardMs > timeoutMs);
    for (const m of gone) this.byId.delete(m.nodeId);
    return gone;
  }

  /**
   * Capture node IDs in topology order. Sorted by ID, so every coordinator — including one
   * that rebuilt the membership from heartbeats after a failover — derives the same order,
   * hence the same owners.
   */
  captureNodeIds(): number[] {
    return this.all()
      .filter((m) => m.role === 'capture')
      .map((m) => m.nodeId)
      .sort((a, b) => a - b);
  }

  /** Analyzer data endpoints, by node ID. */
  analyzers(): Endpoint[] {
    return this.all()
      .filter((m) => m.role === 'analyzer' && m.data)
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((m) => m.data!);
  }

  all(): Member[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
