// Options of `dicap analyzer`: defaults as named constants and one table (common/options.ts
// turns it into flags, DICAP_ANALYZER_* variables, config-file keys and --help).
import { CLUSTER_OPTIONS } from '../common/cluster-options.js';
import { defineOptions } from '../common/options.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_RECEIVE_BUFFER_BYTES } from '../native/analyzer-sink.js';

export const DEFAULT_STATUS_INTERVAL_S = 5;
export const DEFAULT_RECEIVE_BUFFER = DEFAULT_RECEIVE_BUFFER_BYTES;
export const DEFAULT_FLUSH_MS = DEFAULT_FLUSH_INTERVAL_MS;

export const ANALYZER_OPTIONS = defineOptions({
  component: 'analyzer',
  summary:
    "Receive header batches from capture agents over UDP, account every node's sequence (export loss, duplicates, restarts) and write every record as nanosecond pcap to a file or to standard output (for `| tcpdump -r -`, Zeek, Suricata).",
  usage:
    'dicap analyzer --listen HOST:PORT --write FILE|- [--metrics HOST:PORT] [--status-interval S] [options]',
  options: {
    listen: {
      type: 'host-port',
      required: true,
      help: 'UDP address to receive header batches on: an IPv4 address (0.0.0.0 for all) or a host name resolving to one, and the port agents send to.',
    },
    write: {
      type: 'string',
      required: true,
      placeholder: 'FILE|-',
      hint: 'a pcap file path, or - for standard output',
      help: 'Where to write pcap: a file (created or truncated), or - for standard output, in which case every human message goes to stderr.',
    },
    metrics: {
      type: 'host-port',
      help: 'Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz); docs/metrics.md lists them.',
    },
    'status-interval': {
      type: 'integer',
      min: 0,
      max: 3600,
      default: DEFAULT_STATUS_INTERVAL_S,
      placeholder: 'S',
      hint: 'a number of seconds such as 5, or 0 for none',
      help: 'Seconds between one-line status reports on stderr and rewrites of --summary FILE (0: neither; the summary is then written at start and exit only).',
    },
    'receive-buffer': {
      type: 'integer',
      min: 4096,
      max: 1 << 30,
      default: DEFAULT_RECEIVE_BUFFER,
      placeholder: 'BYTES',
      hint: 'a number of bytes such as 33554432',
      help: 'UDP socket receive buffer that absorbs bursts while pcap is written. As root it is granted in full; otherwise net.core.rmem_max caps it (a warning says so).',
    },
    'flush-ms': {
      type: 'integer',
      min: 1,
      max: 60000,
      default: DEFAULT_FLUSH_MS,
      placeholder: 'MS',
      hint: 'a number of milliseconds such as 100',
      help: 'Longest time a record waits in the output buffer, so a pipe reader sees frames promptly.',
    },
    coordinator: {
      type: 'host-port',
      repeatable: true,
      help: 'A coordinator to join as an analyzer, so capture nodes learn from the topology to send here; repeat for each coordinator of the cluster.',
    },
    discover: {
      type: 'boolean',
      help: 'Find the coordinator by its multicast announcement (see --discover-group).',
    },
    'discover-group': CLUSTER_OPTIONS['discover-group'],
    'node-id': {
      ...CLUSTER_OPTIONS['node-id'],
      required: false,
      help: "This analyzer's 32-bit ID in the cluster (needed with --coordinator/--discover; distinct from every capture node's).",
    },
    advertise: {
      type: 'string',
      placeholder: 'IP',
      help: 'The IPv4 address capture nodes send batches to (default: the --listen address, which must then not be 0.0.0.0).',
    },
    timing: CLUSTER_OPTIONS.timing,
    'heartbeat-interval-ms': CLUSTER_OPTIONS['heartbeat-interval-ms'],
    'cluster-key-file': {
      ...CLUSTER_OPTIONS['cluster-key-file'],
      help: 'File holding the cluster key as hex on one line (`openssl rand -hex 32 > FILE`, mode 0600), the same file on every process of the cluster; it authenticates control messages. Needed with --coordinator/--discover unless --insecure.',
    },
    insecure: {
      ...CLUSTER_OPTIONS.insecure,
      help: 'Talk to the coordinator without a cluster key (every process of the cluster must run --insecure then).',
    },
    summary: {
      type: 'string',
      placeholder: 'FILE',
      help: 'Write the counters as JSON to FILE (for scripts and the lab): once listening, every --status-interval while running ("final": false), and the final counters on exit ("final": true). Each write replaces the file whole (temporary file and rename), so a reader never sees half of one.',
    },
  },
});
