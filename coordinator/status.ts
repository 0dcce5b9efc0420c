// The coordinator's state as JSON (for /status, the dashboard and tests) and as one line.
// CoordinatorStatus is the /status contract: readers (the lab, tests) import this type.
import type { Endpoint, TopologyUpdateFields } from '../protocol/index.js';
import type { Coordinator, CoordinatorCounters } from './coordinator.js';
import type { LedgerTotals, VerdictSummary } from './coverage-ledger.js';
import type { Member } from './membership.js';
import type { CoordinatorRole } from './election.js';

/**
 * A topology as /status publishes it: without the selection hash keys k0, k1 and the staging
 * token, which /status (served without authentication) must not give away — whoever knows the
 * keys can steer traffic around a node (issue 11 case 9).
 */
export type PublishedTopology = Omit<TopologyUpdateFields, 'k0' | 'k1' | 'token'>;

export function publishedTopology(t: TopologyUpdateFields): PublishedTopology {
  const { k0: _k0, k1: _k1, token: _token, ...published } = t;
  return published;
}

/** The body of GET /status. */
export interface CoordinatorStatus {
  role: CoordinatorRole;
  coordinatorId: number;
  activeId: number | null;
  term: number;
  peers: Array<{ id: number; endpoint: Endpoint; lastHeardMs: number | null }>;
  lastSyncMs: number | null;
  epoch: number;
  mode: TopologyUpdateFields['selection'];
  control: Endpoint;
  topology: PublishedTopology | null;
  members: Array<Member & { position: number | null }>;
  /** The newest epoch with a verdict. */
  coverage: VerdictSummary | null;
  ledgerTotals: LedgerTotals;
  counters: CoordinatorCounters;
  control_messages: { received: number; sent: number; rejected: Record<string, number> };
}

export function coordinatorStatus(c: Coordinator): CoordinatorStatus {
  const positions = new Map((c.current?.nodeIds ?? []).map((id, i) => [id, i]));
  return {
    role: c.election.role,
    coordinatorId: c.config.coordinatorId,
    activeId: c.election.leaderId ?? null,
    term: c.term,
    peers: c.config.peers.map((p) => ({
      id: p.id,
      endpoint: p.endpoint,
      lastHeardMs: c.peersHeardMs.get(p.id) ?? null,
    })),
    lastSyncMs: c.lastSyncMs ?? null,
    epoch: c.epoch,
    mode: c.config.mode,
    control: { ip: c.config.advertise, port: c.config.listen.port },
    topology: c.current ? publishedTopology(c.current) : null,
    members: c.membership.all().map((m) => ({ ...m, position: positions.get(m.nodeId) ?? null })),
    coverage: c.ledger.latestSummary(),
    ledgerTotals: c.ledger.totals(),
    counters: c.counters,
    control_messages: { received: c.channel.received, sent: c.channel.sent, rejected: c.channel.rejected },
  };
}

/** What the status line says, as fields of a json log (common/logger.ts). */
export function statusFields(c: Coordinator) {
  return {
    coordinatorId: c.config.coordinatorId,
    role: c.election.role,
    term: c.term,
    epoch: c.epoch,
    mode: c.config.mode,
    capture: c.membership.all().filter((m) => m.role === 'capture').length,
    analyzers: c.membership.all().filter((m) => m.role === 'analyzer').length,
    coverage: c.ledger.latestSummary(),
    rejected: Object.values(c.channel.rejected).reduce((a, b) => a + b, 0),
  };
}

export function formatCoordinatorLine(c: Coordinator): string {
  const f = statusFields(c);
  const coverage = f.coverage
    ? f.coverage.status === 'exactly-once'
      ? `epoch ${f.coverage.epoch} exactly-once`
      : `ANOMALY ${f.coverage.reason}`
    : 'no closed epoch yet';
  return `coordinator ${f.coordinatorId} ${f.role} term ${f.term} epoch ${f.epoch} ${f.mode} | ${f.capture} capture, ${f.analyzers} analyzers | coverage: ${coverage} | rejected ${f.rejected}`;
}
