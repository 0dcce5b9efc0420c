// Prometheus metrics of an analyzer. Every value lives in the native sink; collect()
// callbacks read it at scrape time (one counters() call per scrape), so JS counts nothing.
import { Registry } from 'prom-client';
import {
  MALFORMED_REASONS,
  OUTPUT_STATES,
  type AnalyzerNodeCounters,
  type AnalyzerSinkCounters,
} from '../native/analyzer-sink.js';
import { addProcessMetrics } from '../common/process-metrics.js';
import {
  oncePerScrape,
  scrapedCounter,
  scrapedGauge,
  scrapedLabelled,
  stateGauge,
  type LabelledValues,
} from '../common/scraped-metrics.js';

/** Sink-wide counters: [metric name, help, field]. */
const SINK_COUNTERS: Array<
  [
    string,
    string,
    (
      | 'datagrams'
      | 'bytes'
      | 'records'
      | 'socketDrops'
      | 'coalescedReceives'
      | 'recordsWritten'
      | 'recordsUnwritten'
      | 'bytesWritten'
      | 'writeErrors'
      | 'filesOpened'
      | 'reorderLateRecords'
      | 'badRecords'
      | 'reassembledRecords'
      | 'nodesEvicted'
    ),
  ]
> = [
  ['dicap_analyzer_received_datagrams_total', 'UDP datagrams received, malformed ones included', 'datagrams'],
  ['dicap_analyzer_received_bytes_total', 'UDP payload bytes received', 'bytes'],
  [
    'dicap_analyzer_received_records_total',
    'Frame records in valid header batches (duplicates included)',
    'records',
  ],
  [
    'dicap_analyzer_socket_dropped_datagrams_total',
    'Datagrams the kernel dropped because the socket receive buffer was full (SO_RXQ_OVFL)',
    'socketDrops',
  ],
  [
    'dicap_analyzer_coalesced_receives_total',
    'Receives that held several datagrams merged by UDP GRO (the datagrams count one by one above)',
    'coalescedReceives',
  ],
  ['dicap_analyzer_written_records_total', 'Records written to the pcap output', 'recordsWritten'],
  [
    'dicap_analyzer_unwritten_records_total',
    'Records that could not be written (output closed by its reader, failed or stalled)',
    'recordsUnwritten',
  ],
  ['dicap_analyzer_written_bytes_total', 'Bytes written to the pcap output', 'bytesWritten'],
  ['dicap_analyzer_write_errors_total', 'Failed writes to the pcap output', 'writeErrors'],
  [
    'dicap_analyzer_opened_files_total',
    'Capture files opened (rotations and SIGHUP reopens included), FIFO readers served, TAPs opened',
    'filesOpened',
  ],
  [
    'dicap_analyzer_reorder_late_records_total',
    'With --reorder-ms: records later than the window, written out of time order',
    'reorderLateRecords',
  ],
  [
    'dicap_analyzer_bad_records_total',
    'Records skipped as impossible (ts_nsec >= 10^9 or cap_len > wire_len); the rest of their datagram is kept',
    'badRecords',
  ],
  [
    'dicap_analyzer_reassembled_records_total',
    'Records larger than a datagram put back together from fragments',
    'reassembledRecords',
  ],
  [
    'dicap_analyzer_evicted_nodes_total',
    'Silent nodes forgotten to make room in the node table (only without a topology)',
    'nodesEvicted',
  ],
];

type NodeField =
  | 'datagrams'
  | 'records'
  | 'bytes'
  | 'gapDatagrams'
  | 'lateDatagrams'
  | 'duplicateDatagrams'
  | 'duplicateRecords'
  | 'runs'
  | 'seqJumps';

/** Per-node counters, labelled `node`: [metric name, help, field]. */
const NODE_COUNTERS: Array<[string, string, NodeField]> = [
  [
    'dicap_analyzer_node_datagrams_total',
    'Valid datagrams received from the node, duplicates included',
    'datagrams',
  ],
  ['dicap_analyzer_node_records_total', 'Records in them', 'records'],
  ['dicap_analyzer_node_received_bytes_total', 'UDP payload bytes of those datagrams', 'bytes'],
  [
    'dicap_analyzer_node_gap_datagrams_total',
    'Datagrams of the node found missing by sequence gaps (export loss; records lost with them are unknown)',
    'gapDatagrams',
  ],
  [
    'dicap_analyzer_node_late_datagrams_total',
    'Datagrams that arrived after being counted in a gap (export loss = gap - late)',
    'lateDatagrams',
  ],
  [
    'dicap_analyzer_node_duplicate_datagrams_total',
    'Datagrams received twice (or too old to tell); not written again',
    'duplicateDatagrams',
  ],
  ['dicap_analyzer_node_duplicate_records_total', 'Records in duplicate datagrams', 'duplicateRecords'],
  [
    'dicap_analyzer_node_runs_total',
    'Sequence starts per node: first datagram of each stream, every sender restart and jump',
    'runs',
  ],
  [
    'dicap_analyzer_node_seq_jumps_total',
    'Sequence numbers more than 2^20 ahead, taken as a new run rather than as loss',
    'seqJumps',
  ],
];

/** Per-node gauges, labelled `node`: [metric name, help, field]. */
const NODE_GAUGES: Array<[string, string, 'lastEpoch' | 'lostDatagrams' | 'streams']> = [
  ['dicap_analyzer_node_epoch', "Epoch of the node's most recent in-sequence datagram", 'lastEpoch'],
  [
    'dicap_analyzer_node_lost_datagrams',
    "Export loss so far: the node's gap datagrams less the late ones (falls when late datagrams arrive)",
    'lostDatagrams',
  ],
  ['dicap_analyzer_node_streams', 'Distinct streams (export workers) seen from the node', 'streams'],
];

export function createAnalyzerMetrics(counters: () => AnalyzerSinkCounters): Registry {
  const registry = new Registry();
  addProcessMetrics(registry);
  const read = oncePerScrape(counters);
  const perNode = (field: keyof Omit<AnalyzerNodeCounters, 'nodeId'>) => (): LabelledValues =>
    read().nodes.map((node) => [String(node.nodeId), node[field]] as const);

  for (const [name, help, field] of SINK_COUNTERS) scrapedCounter(registry, name, help, () => read()[field]);
  scrapedLabelled(
    registry,
    'counter',
    'dicap_analyzer_malformed_datagrams_total',
    'Datagrams dropped (malformed, unauthentic, unknown node, limits), by reason',
    'reason',
    () => {
      const malformed = read().malformed;
      return MALFORMED_REASONS.map((reason) => [reason.toLowerCase(), malformed[reason]] as const);
    },
  );
  scrapedLabelled(
    registry,
    'counter',
    'dicap_analyzer_reassembly_lost_records_total',
    'Records split over datagrams that never became whole, by reason (sequence, timeout, memory)',
    'reason',
    () => Object.entries(read().reassemblyLost),
  );
  for (const [name, help, field] of NODE_COUNTERS)
    scrapedLabelled(registry, 'counter', name, help, 'node', perNode(field));
  for (const [name, help, field] of NODE_GAUGES)
    scrapedLabelled(registry, 'gauge', name, help, 'node', perNode(field));
  stateGauge(
    registry,
    'dicap_analyzer_output_state',
    'State of the outputs (the most serious when split): 1 for the current state (open, reader-closed, failed, stalled, closed, no-reader)',
    'state',
    OUTPUT_STATES,
    () => read().outputState,
  );
  scrapedGauge(
    registry,
    'dicap_analyzer_reorder_held_records',
    'With --reorder-ms: records waiting in the window now',
    () => read().reorderHeldRecords,
  );
  scrapedGauge(
    registry,
    'dicap_analyzer_receive_buffer_bytes',
    'UDP receive buffer the kernel granted',
    () => read().receiveBufferBytes,
  );
  return registry;
}
