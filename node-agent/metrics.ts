// Prometheus metrics of an agent: the engine's counters at every layer, read from the
// native side at scrape time (collect callbacks), so nothing is counted twice or in JS.
import { Counter, Gauge, Registry } from 'prom-client';
import { registerRejectedMessages } from '../common/control-metrics.js';
import type { RejectionCounts } from '../common/control-channel.js';
import type { CaptureThreadCounters, EngineCounters } from '../native/engine.js';
import { readInterfaceCounters } from './interface-stats.js';
import { addProcessMetrics } from '../common/process-metrics.js';
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
  ['queued_frames_total', 'Owned frames handed to an export worker', 'queued'],
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
  // One counters() read per scrape, shared by every metric's collect().
  let snapshot: EngineCounters | undefined;
  let snapshotAt = 0;
  const read = (): EngineCounters => {
    const now = Date.now();
    if (!snapshot || now - snapshotAt > 100) {
      snapshot = source.counters();
      snapshotAt = now;
    }
    return snapshot;
  };

  for (const [suffix, help, field] of FRAME_COUNTERS) {
    new Counter({
      name: `dicap_agent_${suffix}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read()[field] as number);
      },
    });
  }
  for (const [suffix, help, field] of THREAD_COUNTERS) {
    new Counter({
      name: `dicap_agent_${suffix}`,
      help,
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [thread, counters] of read().captureThreads.entries())
          this.inc({ thread: String(thread) }, counters[field]);
      },
    });
  }
  new Counter({
    name: 'dicap_agent_dropped_frames_total',
    help: 'Frames lost at this node, by layer (ring: kernel ring full; queue: worker queue full; send: datagram refused; no_analyzer: no analyzer in the topology)',
    labelNames: ['layer'],
    registers: [registry],
    collect() {
      const c = read();
      this.reset();
      for (const [layer, field] of DROP_LAYERS) this.inc({ layer }, c[field] as number);
    },
  });
  new Gauge({
    name: 'dicap_agent_selection_stage',
    help: "Where this agent drops another node's frames: 1 for the stage in use (xdp, socket or user), 0 for the others",
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      for (const stage of STAGES_IN_USE) this.set({ stage }, stage === source.selectionStage ? 1 : 0);
    },
  });
  new Gauge({
    name: 'dicap_agent_epoch',
    help: 'Topology epoch in force',
    registers: [registry],
    collect() {
      this.set(read().epoch);
    },
  });
  new Gauge({
    name: 'dicap_agent_position',
    help: "This node's position in the topology (-1: none)",
    registers: [registry],
    collect() {
      this.set(read().position);
    },
  });
  const iface = source.interface;
  if (iface) {
    new Counter({
      name: 'dicap_agent_interface_received_frames_total',
      help: 'Frames the passive interface received (wire layer, from sysfs rx_packets)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(readInterfaceCounters(iface).rxPackets);
      },
    });
    new Counter({
      name: 'dicap_agent_interface_dropped_frames_total',
      help: 'Frames the passive interface dropped (wire layer, from sysfs rx_dropped)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(readInterfaceCounters(iface).rxDropped);
      },
    });
  }
  const rejections = source.controlRejections;
  if (rejections)
    registerRejectedMessages(registry, 'dicap_agent_rejected_control_messages_total', rejections);
  return registry;
}
