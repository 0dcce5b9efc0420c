// Prometheus metrics of the coordinator, read from its state at scrape time.
import { Registry } from 'prom-client';
import type { Coordinator, CoordinatorCounters } from './coordinator.js';
import type { DashboardRefusal } from './dashboard/server.js';
import type { CoordinatorRole } from './election.js';
import { registerRejectedMessages } from '../common/control-metrics.js';
import { handlerFaults } from '../common/fault-guard.js';
import { IPID_HISTOGRAM_BINS, REPORTED_STAGES } from '../protocol/index.js';
import { addProcessMetrics } from '../common/process-metrics.js';
import { scrapedCounter, scrapedGauge, scrapedLabelled, stateGauge } from '../common/scraped-metrics.js';

/** The IP-ID histogram's bins as metrics: 16 of 4096 IDs each (16 of the 256 reported bins), so 16 series. */
export const IPID_METRIC_BINS = 16;
const REPORTED_BINS_PER_METRIC_BIN = IPID_HISTOGRAM_BINS / IPID_METRIC_BINS;

const COORDINATOR_ROLES: readonly CoordinatorRole[] = ['active', 'candidate', 'standby'];

const COUNTERS: Array<[string, string, keyof CoordinatorCounters]> = [
  ['topologies_issued_total', 'Topologies issued (each a new epoch)', 'topologiesIssued'],
  ['topology_messages_sent_total', 'TOPOLOGY_UPDATE messages sent over UDP', 'topologiesSent'],
  [
    'inband_frames_injected_total',
    'In-band topology frames injected on the monitored link',
    'inbandInjected',
  ],
  ['inband_inject_failures_total', 'In-band frames the kernel refused', 'inbandInjectFailures'],
  ['resyncs_total', 'Round-robin re-synchronisations', 'resyncs'],
  ['joins_total', 'JOIN messages', 'joins'],
  ['leaves_total', 'Members that left with LEAVE', 'leaves'],
  [
    'node_timeouts_total',
    'Members removed for silence (the node timeout, or sooner while their peers kept reporting)',
    'timeouts',
  ],
  ['ledger_reports_total', 'LEDGER messages received', 'ledgerReports'],
  [
    'ledger_reports_ignored_total',
    'LEDGER messages the ledger could not use (unknown node, or an epoch already judged or forgotten)',
    'ledgerReportsIgnored',
  ],
  [
    'unexpected_messages_total',
    'Authentic messages of a type or from a sender this coordinator does not expect in its role',
    'unexpectedMessages',
  ],
  ['syncs_sent_total', 'SYNC messages sent to standbys (as active)', 'syncsSent'],
  ['syncs_applied_total', 'SYNC messages applied (as standby)', 'syncsApplied'],
  ['elections_total', 'Elections this coordinator stood in', 'elections'],
  ['failovers_total', 'Times this coordinator took over from another active', 'failovers'],
  ['joins_refused_total', 'New members refused because --max-members were known already', 'joinsRefused'],
  [
    'reports_ignored_total',
    'IPID_HISTOGRAM and ANALYZER_REPORT messages about IDs that are no members',
    'reportsIgnored',
  ],
  [
    'reserved_values_ignored_total',
    'Messages whose EPOCH or TERM lies in the reserve of SPEC §6.7 (numbers not taken)',
    'reservedValuesIgnored',
  ],
  ['epochs_refused_total', 'New epochs not issued because the epoch space is exhausted', 'epochsRefused'],
];

/** What the dashboard (on --http) counts about its WebSocket pages. */
export interface DashboardCounts {
  readonly connections: number;
  readonly refused: Readonly<Record<DashboardRefusal, number>>;
}

export function createCoordinatorMetrics(c: Coordinator, dashboard?: DashboardCounts): Registry {
  const registry = new Registry();
  addProcessMetrics(registry);
  for (const [suffix, help, field] of COUNTERS)
    scrapedCounter(registry, `dicap_coordinator_${suffix}`, help, () => c.counters[field]);
  registerRejectedMessages(registry, 'dicap_coordinator_rejected_messages_total', () => c.channel.rejected);
  registry.registerMetric(c.topologyChangeCpu);
  registry.registerMetric(c.topologyChangeSent);
  scrapedCounter(
    registry,
    'dicap_coordinator_handler_faults_total',
    'Timer and socket handlers that threw (counted and logged; the coordinator carries on)',
    () => handlerFaults.count,
  );
  scrapedLabelled(registry, 'gauge', 'dicap_coordinator_members', 'Members by role', 'role', () =>
    ['capture', 'analyzer'].map(
      (role) => [role, c.membership.all().filter((m) => m.role === role).length] as const,
    ),
  );
  scrapedLabelled(
    registry,
    'gauge',
    'dicap_coordinator_capture_nodes_by_stage',
    'Capture nodes by where they select (SELECTION_STAGE of their JOIN/HEARTBEAT; unknown: the agent does not say)',
    'stage',
    () => {
      const capture = c.membership.all().filter((m) => m.role === 'capture');
      return [...REPORTED_STAGES, 'unknown'].map(
        (stage) =>
          [stage, capture.filter((m) => (m.selection?.stage ?? 'unknown') === stage).length] as const,
      );
    },
  );
  scrapedGauge(registry, 'dicap_coordinator_epoch', 'Epoch of the current topology', () => c.epoch);
  scrapedGauge(
    registry,
    'dicap_coordinator_active',
    '1 when this coordinator is the active one, 0 when standby or candidate',
    () => (c.active ? 1 : 0),
  );
  stateGauge(
    registry,
    'dicap_coordinator_role',
    'Election role: 1 for the current one (active, candidate, standby)',
    'role',
    COORDINATOR_ROLES,
    () => c.election.role,
  );
  scrapedGauge(registry, 'dicap_coordinator_term', 'Coordinator term', () => c.term);
  scrapedCounter(
    registry,
    'dicap_coordinator_uncovered_frames_total',
    'Frames no node captured, over closed epochs (ledger)',
    () => c.ledger.uncoveredTotal,
  );
  scrapedCounter(
    registry,
    'dicap_coordinator_duplicated_frames_total',
    'Frames captured twice, over closed epochs (ledger)',
    () => c.ledger.duplicatedTotal,
  );
  scrapedCounter(
    registry,
    'dicap_coordinator_coverage_anomalies_total',
    'Closed epochs whose coverage was not exactly-once',
    () => c.ledger.anomaliesTotal,
  );
  scrapedGauge(
    registry,
    'dicap_coordinator_coverage_exactly_once',
    '1 when the newest closed epoch was covered exactly once, 0 when not, -1 before any epoch closed',
    () => {
      const latest = c.ledger.latestVerdict();
      return latest ? (latest.status === 'exactly-once' ? 1 : 0) : -1;
    },
  );
  if (dashboard) {
    scrapedGauge(
      registry,
      'dicap_coordinator_dashboard_pages',
      'Dashboard pages connected to /live now',
      () => dashboard.connections,
    );
    scrapedLabelled(
      registry,
      'counter',
      'dicap_coordinator_dashboard_refused_total',
      'Dashboard WebSocket connections refused or ended: limit (too many pages), protocol (bad WebSocket bytes), socket (TCP errors)',
      'reason',
      () => Object.entries(dashboard.refused),
    );
  }
  scrapedLabelled(
    registry,
    'counter',
    'dicap_coordinator_ipid_frames_total',
    "IPv4 frames the capture nodes owned, by IPv4 Identification: bin b holds IDs 4096*b to 4096*b+4095 (the nodes' IPID_HISTOGRAM reports summed)",
    'bin',
    () => {
      const { bins } = c.reports.ipid.sinceStart();
      return Array.from({ length: IPID_METRIC_BINS }, (_, b) => {
        let frames = 0;
        for (let i = 0; i < REPORTED_BINS_PER_METRIC_BIN; i++)
          frames += bins[b * REPORTED_BINS_PER_METRIC_BIN + i]!;
        return [String(b), frames] as const;
      });
    },
  );
  return registry;
}
