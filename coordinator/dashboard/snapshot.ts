// Everything the dashboard page shows, as one JSON object computed from a coordinator's
// state (membership, election, ledger, events, and the members' reports). The page renders
// it as it comes; it is also served as /dashboard.json. Field names are the contract with
// coordinator/dashboard/public/ (see README.md there).
import type { Endpoint, Role, SelectionMode, SelectionStageReport } from '../../protocol/index.js';
import type { Coordinator, CoordinatorCounters } from '../coordinator.js';
import type { EpochCoverage, LedgerTotals, VerdictSummary } from '../coverage-ledger.js';
import type { CoordinatorRole } from '../election.js';
import type { ClusterEvent } from '../event-log.js';
import type { Member } from '../membership.js';
import type { IpidHistogramView } from '../ipid-histogram.js';
import type { AnalyzerCounts, EngineCounts } from '../node-reports.js';
import type { NodeRateSample, RateSample } from './timeline.js';

/** A member silent for this many heartbeat intervals shows as late (before its timeout removes it). */
export const LATE_AFTER_HEARTBEATS = 2;
/** Rates older than this many heartbeat intervals are not shown as current. */
export const STALE_AFTER_HEARTBEATS = 3;
/** Events and epochs sent with every update. */
export const EVENTS_SHOWN = 100;
export const EPOCHS_SHOWN = 24;

export type CaptureNodeState = 'capturing' | 'joining' | 'late' | 'timed out' | 'left' | 'gone';

export interface CaptureNodeView {
  nodeId: number;
  /** Where its control messages come from (null once it is gone). */
  control: Endpoint | null;
  /** In the current topology (0-based), or null. */
  position: number | null;
  state: CaptureNodeState;
  lastHeardMs: number | null;
  /** The epoch it said it applies. */
  appliedEpoch: number | null;
  /** Where it selects and why (null for agents that do not say, and once it is gone). */
  selection: SelectionStageReport | null;
  /** It still applies an older epoch well after the current one came into force (it missed it). */
  behind: boolean;
  /** When it timed out or left. */
  departedMs: number | null;
  /** Engine counters, cumulative since the agent started (null until it reports them). */
  totals: EngineCounts | null;
  /** The same per second, between its last two heartbeats (null when not current). */
  rates: EngineCounts | null;
  /** Its owned frames per second as a part of all nodes' (0..1), null without traffic. */
  share: number | null;
  /** What the analyzers received from it, summed over them (null before any report). */
  received: { records: number; datagrams: number; lostDatagrams: number; recordsRate: number | null } | null;
}

export interface AnalyzerView {
  nodeId: number;
  /** Where capture nodes send it header batches. */
  data: Endpoint | null;
  state: 'up' | 'late' | 'gone';
  lastHeardMs: number | null;
  /** Per capture node it hears from. */
  sources: Array<AnalyzerCounts & { nodeId: number; recordsRate: number | null }>;
}

export interface DashboardSnapshot {
  atMs: number;
  coordinator: {
    id: number;
    role: CoordinatorRole;
    term: number;
    epoch: number;
    mode: SelectionMode;
    control: Endpoint;
    startedMs: number;
    heartbeatIntervalMs: number;
    nodeTimeoutMs: number;
    /** The active coordinator: this one, or the one a standby follows; null while none is known. */
    active: { id: number; self: boolean; control: Endpoint | null; dashboard: Endpoint | null } | null;
    /** The other coordinators and when this one last heard them (on the active: their SYNC_ACKs). */
    peers: Array<{ id: number; control: Endpoint; lastHeardMs: number | null }>;
    /** Standby: when the active's last SYNC arrived. */
    lastSyncMs: number | null;
    counters: CoordinatorCounters;
    controlMessages: { received: number; sent: number; rejected: Record<string, number> };
  };
  /** The newest closed epoch's verdict; null before any epoch closed. */
  coverage: VerdictSummary | null;
  ledgerTotals: LedgerTotals;
  /** Newest first. */
  epochs: Array<{
    epoch: number;
    status: EpochCoverage['status'];
    frames: number;
    ownedSum: number;
    reason: string | null;
  }>;
  nodes: CaptureNodeView[];
  analyzers: AnalyzerView[];
  ipid: { windowS: number; recent: IpidHistogramView; sinceStart: IpidHistogramView; nodes: number[] };
  /** Oldest first, the newest EVENTS_SHOWN. */
  events: ClusterEvent[];
  /** The rates now. */
  sample: RateSample;
  /** In an update: whether `sample` is the timeline's new sample (one a second), for the page to append. */
  sampled?: boolean;
  /** The rates over the last minutes, oldest first (in the first message a page gets, and in /dashboard.json). */
  timeline?: readonly RateSample[];
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

function drops(rates: EngineCounts): number {
  return rates.ringDrops + rates.queueDrops + rates.sendFailed + rates.noAnalyzer;
}

/** The members of `role` by node ID, and every node ID a member or a report names, in order. */
function nodesOf(
  c: Coordinator,
  role: Role,
  reported: Iterable<number>,
): { members: Map<number, Member>; ids: number[] } {
  const members = new Map(
    c.membership
      .all()
      .filter((m) => m.role === role)
      .map((m) => [m.nodeId, m]),
  );
  const ids = [...new Set([...members.keys(), ...reported])].sort((a, b) => a - b);
  return { members, ids };
}

function captureNodes(c: Coordinator, nowMs: number): CaptureNodeView[] {
  const hb = c.config.heartbeatIntervalMs;
  const positions = new Map((c.current?.nodeIds ?? []).map((id, i) => [id, i]));
  const { members, ids } = nodesOf(c, 'capture', c.reports.capture.keys());
  const views = ids.map((nodeId): CaptureNodeView => {
    const member = members.get(nodeId);
    const reports = c.reports.capture.get(nodeId);
    const counters = reports?.counters;
    const fromAnalyzers = c.reports.aboutNode(nodeId);
    const received =
      fromAnalyzers.length === 0
        ? null
        : {
            records: sum(fromAnalyzers.map((r) => r.counters.totals?.records ?? 0)),
            datagrams: sum(fromAnalyzers.map((r) => r.counters.totals?.datagrams ?? 0)),
            lostDatagrams: sum(fromAnalyzers.map((r) => r.counters.totals?.lostDatagrams ?? 0)),
            recordsRate: member
              ? sum(
                  fromAnalyzers.map(
                    (r) => r.counters.current(nowMs, STALE_AFTER_HEARTBEATS * hb)?.records ?? 0,
                  ),
                )
              : null,
          };
    const rates = member ? counters?.current(nowMs, STALE_AFTER_HEARTBEATS * hb) : undefined;
    let state: CaptureNodeState;
    if (!member)
      state =
        reports?.departure?.kind === 'timeout'
          ? 'timed out'
          : reports?.departure?.kind === 'left'
            ? 'left'
            : 'gone';
    else if (nowMs - member.lastHeardMs > LATE_AFTER_HEARTBEATS * hb) state = 'late';
    else state = positions.has(nodeId) ? 'capturing' : 'joining';
    return {
      nodeId,
      control: member?.control ?? null,
      position: positions.get(nodeId) ?? null,
      state,
      lastHeardMs: member?.lastHeardMs ?? counters?.lastReportMs ?? null,
      appliedEpoch: member?.appliedEpoch ?? null,
      selection: member?.selection ?? null,
      // The coordinator's own rule for a node that missed a topology (Coordinator.checkApplied).
      behind:
        !!member &&
        !!c.current &&
        member.appliedEpoch < c.current.epoch &&
        nowMs >= c.current.validityStartMs + hb + 1000,
      departedMs: member ? null : (reports?.departure?.atMs ?? null),
      totals: counters?.totals ? { ...counters.totals } : null,
      rates: rates ? { ...rates } : null,
      share: null,
      received,
    };
  });
  const owned = sum(views.map((v) => v.rates?.owned ?? 0));
  if (owned > 0) for (const v of views) v.share = v.rates ? v.rates.owned / owned : null;
  return views;
}

function analyzers(c: Coordinator, nowMs: number): AnalyzerView[] {
  const hb = c.config.heartbeatIntervalMs;
  const { members, ids } = nodesOf(c, 'analyzer', c.reports.analyzers.keys());
  return ids.map((nodeId) => {
    const member = members.get(nodeId);
    const sources = [...(c.reports.analyzers.get(nodeId)?.values() ?? [])]
      .filter((r) => r.counters.totals)
      .map((r) => ({
        nodeId: r.sourceNodeId,
        ...r.counters.totals!,
        recordsRate: member
          ? (r.counters.current(nowMs, STALE_AFTER_HEARTBEATS * hb)?.records ?? null)
          : null,
      }))
      .sort((a, b) => a.nodeId - b.nodeId);
    const state = !member ? 'gone' : nowMs - member.lastHeardMs > LATE_AFTER_HEARTBEATS * hb ? 'late' : 'up';
    return { nodeId, data: member?.data ?? null, state, lastHeardMs: member?.lastHeardMs ?? null, sources };
  });
}

/** The rates now: summed over the nodes with current rates, and per node. */
export function rateSample(
  nodes: readonly CaptureNodeView[],
  analyzerViews: readonly AnalyzerView[],
  nowMs: number,
): RateSample {
  const perNode: Record<number, NodeRateSample> = {};
  for (const n of nodes)
    if (n.rates)
      perNode[n.nodeId] = {
        seen: n.rates.seen,
        owned: n.rates.owned,
        exported: n.rates.exported,
        drops: drops(n.rates),
      };
  const all = Object.values(perNode);
  return {
    atMs: nowMs,
    // Every node sees every frame: the link's rate is what one node sees (the largest, if they differ).
    seen: Math.max(0, ...all.map((n) => n.seen)),
    owned: sum(all.map((n) => n.owned)),
    exported: sum(all.map((n) => n.exported)),
    drops: sum(all.map((n) => n.drops)),
    received: sum(analyzerViews.flatMap((a) => a.sources.map((s) => s.recordsRate ?? 0))),
    nodes: perNode,
  };
}

export function dashboardSnapshot(c: Coordinator, nowMs: number): DashboardSnapshot {
  c.reports.prune(nowMs);
  const nodes = captureNodes(c, nowMs);
  const analyzerViews = analyzers(c, nowMs);
  const leaderId = c.election.leaderId;
  const self = c.active;
  const leaderPeer = c.config.peers.find((p) => p.id === leaderId);
  const control = { ip: c.config.advertise, port: c.config.listen.port };
  return {
    atMs: nowMs,
    coordinator: {
      id: c.config.coordinatorId,
      role: c.election.role,
      term: c.term,
      epoch: c.epoch,
      mode: c.config.mode,
      control,
      startedMs: c.startedMs,
      heartbeatIntervalMs: c.config.heartbeatIntervalMs,
      nodeTimeoutMs: c.config.nodeTimeoutMs,
      active: self
        ? { id: c.config.coordinatorId, self: true, control, dashboard: c.config.dashboard ?? null }
        : leaderId !== undefined
          ? {
              id: leaderId,
              self: false,
              control: leaderPeer?.endpoint ?? null,
              dashboard: c.peerDashboards.get(leaderId) ?? null,
            }
          : null,
      peers: c.config.peers.map((p) => ({
        id: p.id,
        control: p.endpoint,
        lastHeardMs: c.peersHeardMs.get(p.id) ?? null,
      })),
      lastSyncMs: c.lastSyncMs ?? null,
      counters: { ...c.counters },
      controlMessages: {
        received: c.channel.received,
        sent: c.channel.sent,
        rejected: { ...c.channel.rejected },
      },
    },
    coverage: c.ledger.latestSummary(),
    ledgerTotals: c.ledger.totals(),
    epochs: c.ledger
      .recent()
      .slice(0, EPOCHS_SHOWN)
      .map((e) => ({
        epoch: e.epoch,
        status: e.status,
        frames: e.frames,
        ownedSum: e.ownedSum,
        reason: e.reason ?? null,
      })),
    nodes,
    analyzers: analyzerViews,
    ipid: {
      windowS: c.reports.ipid.windowS,
      recent: c.reports.ipid.recent(nowMs),
      sinceStart: c.reports.ipid.sinceStart(),
      nodes: c.reports.ipid.nodes,
    },
    events: c.events.list().slice(-EVENTS_SHOWN),
    sample: rateSample(nodes, analyzerViews, nowMs),
  };
}
