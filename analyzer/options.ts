// Options of `dicap analyzer`: defaults as named constants and one table (common/options.ts
// turns it into flags, DICAP_ANALYZER_* variables, config-file keys and --help).
import { CLUSTER_OPTIONS } from '../common/cluster-options.js';
import { defineOptions } from '../common/options.js';
import {
  CAPTURE_FORMATS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_RECEIVE_BUFFER_BYTES,
  MAX_SPLIT,
} from '../native/analyzer-sink.js';

export const DEFAULT_RECEIVE_BUFFER = DEFAULT_RECEIVE_BUFFER_BYTES;
export const DEFAULT_FLUSH_MS = DEFAULT_FLUSH_INTERVAL_MS;
export const DEFAULT_FORMAT = 'pcap';
/** The prefix of --output's one kind so far. */
export const TAP_PREFIX = 'tap:';

export const ANALYZER_OPTIONS = defineOptions({
  component: 'analyzer',
  summary:
    "Receive header batches from capture agents over UDP, account every node's sequence (export loss, duplicates, restarts) and write every record as nanosecond pcap or pcapng to files (rotated, never overwritten), a FIFO, standard output (for `| tcpdump -r -`), or live into TAP interfaces for Zeek, Suricata or tcpdump -i; --split K spreads whole connections over K outputs.",
  usage:
    'dicap analyzer --listen HOST:PORT (--write FILE|- | --output tap:NAME) [--split K] [--format pcap|pcapng] [--metrics HOST:PORT] [options]',
  options: {
    listen: {
      type: 'host-port',
      required: true,
      help: 'UDP address to receive header batches on: an IPv4 address (0.0.0.0 for all) or a host name resolving to one, and the port agents send to.',
    },
    write: {
      type: 'string',
      placeholder: 'FILE|-',
      hint: 'a capture file path, or - for standard output',
      help: 'Write captures to FILE (created 0640; an existing capture is first renamed to FILE.N with the next free N, never overwritten), to a FIFO (a reader may come, go and come back; meanwhile records are counted unwritten), or to - (standard output; every human message goes to stderr; the analyzer ends when its reader does). SIGHUP starts a new FILE, moving the current one aside to FILE.N.',
    },
    output: {
      type: 'string',
      placeholder: 'tap:NAME',
      hint: 'tap: and an interface name of at most 15 characters, such as tap:dicap0',
      help: 'Instead of --write: write every frame into the TAP interface NAME (created if missing and removed on exit; needs CAP_NET_ADMIN), so Zeek -i, Suricata --af-packet or tcpdump -i read it live and restart on their own.',
      validate: (v) =>
        v.startsWith(TAP_PREFIX) && v.length > TAP_PREFIX.length ? undefined : 'must be tap:NAME',
    },
    split: {
      type: 'integer',
      min: 1,
      max: MAX_SPLIT,
      default: 1,
      placeholder: 'K',
      hint: 'a number of outputs such as 4',
      help: 'Spread frames over K outputs by the symmetric flow hash, so each connection (both directions) goes to exactly one: TAPs NAME0…NAME(K-1), or files with the index before the extension (cap.pcap: cap0.pcap, cap1.pcap …). One IDS worker per output.',
    },
    format: {
      type: 'enum',
      values: CAPTURE_FORMATS,
      default: DEFAULT_FORMAT,
      help: 'Capture file format: pcap (nanosecond), or pcapng with one interface per capture node (named node-ID), nanosecond time stamps and the topology epoch as a packet comment whenever it changes.',
    },
    snaplen: {
      ...CLUSTER_OPTIONS.snaplen,
      help: "The snaplen every file header claims (default: the capture nodes' default); longer records are cut to it. Give the capture nodes' --snaplen, so the header is true and nothing is cut: 0 for whole frames (65535). Following a coordinator, a topology with another SNAPLEN is named in a warning.",
    },
    'rotate-seconds': {
      type: 'integer',
      min: 0,
      max: 1 << 30,
      default: 0,
      placeholder: 'S',
      hint: 'a number of seconds such as 3600, or 0 for never',
      help: 'Start a new file every S seconds (tcpdump -G); the finished one is renamed to FILE.N (N counting up), so FILE is always the newest.',
    },
    'rotate-mb': {
      type: 'integer',
      min: 0,
      max: 1 << 20,
      default: 0,
      placeholder: 'MB',
      hint: 'a number of megabytes (10^6 bytes) such as 1000, or 0 for no limit',
      help: 'Start a new file when the current one reaches MB megabytes (tcpdump -C), renaming it to FILE.N.',
    },
    'rotate-count': {
      type: 'integer',
      min: 0,
      max: 1 << 20,
      default: 0,
      placeholder: 'N',
      hint: 'a number of files such as 24, or 0 for all',
      help: 'With rotation, keep at most N files of this run (FILE and the newest FILE.N), deleting the oldest this run wrote (tcpdump -W); captures from before this run are never deleted.',
    },
    'reorder-ms': {
      type: 'integer',
      min: 0,
      max: 60000,
      default: 0,
      placeholder: 'MS',
      hint: 'a number of milliseconds such as 200, or 0 for arrival order',
      help: "Merge the capture nodes' frames into time-stamp order within a window of MS milliseconds (memory: about MS worth of traffic). Frames later than that are written anyway, out of order, and counted (reorderLateRecords).",
    },
    metrics: {
      type: 'host-port',
      ipv6: true,
      help: 'Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz); docs/metrics.md lists them. [IPv6]:PORT too; [::]:PORT listens on IPv6 and IPv4.',
    },
    'status-interval': CLUSTER_OPTIONS['status-interval'],
    'log-format': CLUSTER_OPTIONS['log-format'],
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
    nodes: {
      ...CLUSTER_OPTIONS.nodes,
      help: "Accept header batches only from these capture node IDs (the static topology the agents run with). Without it, a keyed cluster's coordinator topology decides; otherwise any node is accepted, at most 1024 with state at once.",
    },
    coordinator: {
      type: 'host-port',
      repeatable: true,
      help: 'A coordinator to join as an analyzer, so capture nodes learn from the topology to send here; repeat for each coordinator of the cluster.',
    },
    discover: CLUSTER_OPTIONS.discover,
    'discover-group': CLUSTER_OPTIONS['discover-group'],
    'control-address': CLUSTER_OPTIONS['control-address'],
    user: CLUSTER_OPTIONS.user,
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
      help: 'File holding the cluster key as hex on one line (`openssl rand -hex 32 > FILE`, mode 0600), the same file on every process of the cluster; it authenticates control messages and header batches (only batches with a valid MAC are written). Needed with --coordinator/--discover unless --insecure.',
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
