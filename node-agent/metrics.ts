// Prometheus metrics of an agent: the engine's counters at every layer, read from the
// native side at scrape time (collect callbacks), so nothing is counted twice or in JS.
import { Registry } from 'prom-client';
import { registerRejectedMessages } from '../common/control-metrics.js';
import type { RejectionCounts } from '../common/control-channel.js';
import type { CaptureThreadCounters, EngineCounters } from '../native/engine.js';
import { readInterfaceCounters } from './interface-stats.js';
import { addProcessMetrics } from '../common/process-metrics.js';
import {
  oncePerScrape,
  scrapedCounter,
  scrapedGauge,
  scrapedLabelled,
  stateGauge,
} from '../common/scraped-metrics.js';
import { STAGES_IN_USE, type SelectionStage } from './selection-stage.js';

export interface AgentMetricsSource {
  nodeId: number;
  /** Live capture interface, for the wire layer; absent for a file source. */
  interface?: string;
  counters(): EngineCounters;
  /** Where another node's frames are dropped (--selection). */
  selectionStage: SelectionStage;
  /** Following a coordinator: its control channel's rejections by reason. */
  controlRejections?: () => RejectionCounts;
  /** Following a coordinator: topologies that moved frames and arrived after their validity start. */
  lateTopologies?: () => number;
}

/** Per-layer frame counters: [metric suffix, help, counter field]. */
const FRAME_COUNTERS: Array<[string, string, keyof EngineCounters]> = [
  ['source_frames_total', 'Frames the source delivered to selection', 'frames'],
  ['source_bytes_total', 'Wire bytes of the frames the source delivered (outer VLAN tag included)', 'bytes'],
  [
    'source_errors_total',
    'Times the source failed (a capture file cut off, damaged or shrinking while read; a ring error)',
    'sourceErrors',
  ],
  [
    'socket_frames_total',
    'Frames the AF_PACKET socket received, ring drops included (tp_packets)',
    'socketPackets',
  ],
  [
    'socket_freezes_total',
    'Times the kernel found the ring full and froze the queue (tp_freeze_q_cnt)',
    'socketFreezes',
  ],
  [
    'inband_accepted_frames_total',
    'In-band topology frames that were authentic, fresh and newer, and applied (not traffic)',
    'controlFrames',
  ],
  [
    'inband_rejected_frames_total',
    'EtherType 0x88B5 frames that were not authentic, fresh and newer (exported as traffic)',
    'inbandRejected',
  ],
  [
    'filtered_frames_total',
    'Frames the capture filter (--filter) rejected before selection (by choice, not a loss)',
    'filtered',
  ],
  ['unassigned_frames_total', 'Frames read before any topology was in force', 'unassigned'],
  ['seen_frames_total', 'Traffic frames classified by selection', 'seen'],
  ['owned_frames_total', 'Frames this node owns', 'owned'],
  ['not_owned_frames_total', 'Frames other nodes own (dropped here by design)', 'notOwned'],
  [
    'queued_frames_total',
    "Owned frames handed to export (an export worker's queue, or with --workers 0 the capture thread's own batches)",
    'queued',
  ],
  ['exported_records_total', 'Frame headers sent to analyzers', 'recordsExported'],
  ['exported_datagrams_total', 'Header-batch datagrams sent', 'datagramsSent'],
  ['exported_bytes_total', 'UDP payload bytes sent', 'bytesSent'],
  ['send_errors_total', 'Datagrams the kernel refused to send', 'sendErrors'],
  ['export_gso_writes_total', 'UDP GSO writes that left, each several header-batch datagrams', 'gsoWrites'],
  [
    'export_gso_fallbacks_total',
    'Times an export worker found UDP GSO refused by the kernel and went back to single datagrams',
    'gsoFallbacks',
  ],
  [
    'kernel_not_owned_frames_total',
    "Frames the selection in the kernel (xdp, socket) dropped as another node's; included in not_owned",
    'kernelNotOwned',
  ],
  [
    'kernel_undecided_frames_total',
    'Frames the selection in the kernel passed up for user space to decide (a timed switch, no topology yet)',
    'kernelUndecided',
  ],
];

/** Per capture thread (label thread="k"): [metric suffix, help, counter field]. */
const THREAD_COUNTERS: Array<[string, string, keyof CaptureThreadCounters]> = [
  ['thread_source_frames_total', 'Frames the capture thread read from its ring', 'frames'],
  ['thread_owned_frames_total', 'Frames the capture thread found this node owns', 'owned'],
  [
    'thread_ring_dropped_frames_total',
    "Frames the kernel could not put in the thread's ring (tp_drops)",
    'socketDrops',
  ],
  [
    'thread_rollover_frames_total',
    "Frames the thread's ring was full for, passed to another ring (--fanout-rollover)",
    'socketRollovers',
  ],
];

/** Drops by layer: [layer label, counter field]. */
const DROP_LAYERS: Array<[string, keyof EngineCounters]> = [
  ['ring', 'socketDrops'],
  ['queue', 'queueFullDrops'],
  ['send', 'recordsSendFailed'],
  ['no_analyzer', 'recordsNoAnalyzer'],
];

export function createAgentMetrics(source: AgentMetricsSource): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: String(source.nodeId) });
  addProcessMetrics(registry);
  const read = oncePerScrape(() => source.counters());

  for (const [suffix, help, field] of FRAME_COUNTERS)
    scrapedCounter(registry, `dicap_agent_${suffix}`, help, () => read()[field] as number);
  for (const [suffix, help, field] of THREAD_COUNTERS)
    scrapedLabelled(registry, 'counter', `dicap_agent_${suffix}`, help, 'thread', () =>
      read().captureThreads.map((counters, thread) => [String(thread), counters[field]] as const),
    );
  scrapedLabelled(
    registry,
    'counter',
    'dicap_agent_dropped_frames_total',
    'Frames lost at this node, by layer (ring: kernel ring full; queue: worker queue full; send: datagram refused; no_analyzer: no analyzer in the topology)',
    'layer',
    () => {
      const c = read();
      return DROP_LAYERS.map(([layer, field]) => [layer, c[field] as number] as const);
    },
  );
  stateGauge(
    registry,
    'dicap_agent_selection_stage',
    "Where this agent drops another node's frames: 1 for the stage in use (xdp, socket or user), 0 for the others",
    'stage',
    STAGES_IN_USE,
    () => source.selectionStage,
  );
  scrapedGauge(registry, 'dicap_agent_epoch', 'Topology epoch in force', () => read().epoch);
  scrapedGauge(
    registry,
    'dicap_agent_position',
    "This node's position in the topology (-1: none)",
    () => read().position,
  );
  const iface = source.interface;
  if (iface) {
    scrapedCounter(
      registry,
      'dicap_agent_interface_received_frames_total',
      'Frames the passive interface received (wire layer, from sysfs rx_packets)',
      () => readInterfaceCounters(iface).rxPackets,
    );
    scrapedCounter(
      registry,
      'dicap_agent_interface_dropped_frames_total',
      'Frames the passive interface dropped (wire layer, from sysfs rx_dropped)',
      () => readInterfaceCounters(iface).rxDropped,
    );
  }
  const rejections = source.controlRejections;
  if (rejections)
    registerRejectedMessages(registry, 'dicap_agent_rejected_control_messages_total', rejections);
  if (source.lateTopologies)
    scrapedCounter(
      registry,
      'dicap_agent_late_topologies_total',
      'Topologies giving frames other owners that arrived after their validity start (frames between may be lost or doubled)',
      source.lateTopologies,
    );
  return registry;
}
