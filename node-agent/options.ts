// Options of `dicap agent`: defaults as named constants, one table, validation that names
// the key and the fix. Derived values (the static topology) are built only after parsing.
import os from 'node:os';
import { CLUSTER_OPTIONS, DEFAULT_PAYLOAD_SIZE } from '../common/cluster-options.js';
import { defineOptions } from '../common/options.js';
import { SELECTION_STAGES } from './selection-stage.js';

// The flush stays short: a record waiting in a partial batch is already counted as owned in
// the agent's LEDGER reports, so if the agent is SIGKILLed it is lost without the ledger
// seeing it; 10 ms keeps that window to a frame or two of a node's share at lab rates (a 50 ms
// flush let 2 such frames through the coordinator kill test).
export const DEFAULT_FLUSH_MS = 10;
export const DEFAULT_WORKERS = Math.max(1, os.availableParallelism());
export const DEFAULT_RING_BLOCK_SIZE = 1 << 20;
export const DEFAULT_RING_BLOCKS = 64;
// A wake-up costs the capture thread tens of µs on a small VM: at 10 ms it woke ~100 times a
// second whatever the rate. 50 ms keeps frames within ~0.1 s of the wire (libpcap waits up to
// 1 s); frames still in the kernel's block are not yet counted, so a kill loses them visibly.
export const DEFAULT_RING_RETIRE_MS = 50;
export const DEFAULT_QUEUE_SLOTS = 65536;
export const DEFAULT_EXPORT_MODE = 'random';

const PAGE_SIZE = 4096;

function cpuListProblem(list: readonly string[]): string | undefined {
  for (const word of list) {
    if (!/^[0-9]{1,4}$/.test(word))
      return `has "${word}", which is not a CPU number; write CPU numbers such as 0,1`;
  }
  return undefined;
}

export const AGENT_OPTIONS = defineOptions({
  component: 'agent',
  summary:
    'Capture node agent: reads the passive interface (or a capture file), keeps the frames this node owns and exports their headers to analyzers.',
  usage:
    'dicap agent (--interface IF | --pcap FILE) --node-id ID (--nodes ID,ID,… --analyzer HOST:PORT | --coordinator HOST:PORT… | --discover) [options]',
  options: {
    interface: {
      type: 'string',
      placeholder: 'IF',
      help: 'Passive capture interface (live capture through an AF_PACKET TPACKET_V3 ring; needs root or CAP_NET_RAW).',
    },
    pcap: {
      type: 'string',
      placeholder: 'FILE',
      help: 'Read frames from a capture file (pcap or pcapng, Ethernet; a regular file, not a FIFO or device) instead of an interface; exits when the file ends.',
    },
    realtime: {
      type: 'boolean',
      help: "With --pcap: replay at the pace of the file's timestamps instead of as fast as possible.",
    },
    'node-id': CLUSTER_OPTIONS['node-id'],
    nodes: CLUSTER_OPTIONS.nodes,
    coordinator: {
      type: 'host-port',
      repeatable: true,
      help: 'A coordinator to follow (JOIN, heartbeats, topologies, ledger) instead of a static --nodes topology; repeat for each coordinator of the cluster (the active one and its standbys).',
    },
    discover: CLUSTER_OPTIONS.discover,
    'discover-group': CLUSTER_OPTIONS['discover-group'],
    'control-address': CLUSTER_OPTIONS['control-address'],
    user: CLUSTER_OPTIONS.user,
    timing: CLUSTER_OPTIONS.timing,
    'heartbeat-interval-ms': CLUSTER_OPTIONS['heartbeat-interval-ms'],
    insecure: CLUSTER_OPTIONS.insecure,
    mode: CLUSTER_OPTIONS.mode,
    key: CLUSTER_OPTIONS.key,
    'cluster-key-file': CLUSTER_OPTIONS['cluster-key-file'],
    analyzer: {
      type: 'host-port',
      repeatable: true,
      help: 'Analyzer to send header batches to (repeat for several).',
    },
    'export-mode': {
      type: 'enum',
      values: ['random', 'flow'],
      default: DEFAULT_EXPORT_MODE,
      help: 'With several analyzers: a random analyzer per batch (DiCAP), or each connection always to the same analyzer.',
    },
    snaplen: CLUSTER_OPTIONS.snaplen,
    'export-gso': {
      type: 'boolean',
      default: true,
      help: 'Send header batches of equal length bound for one analyzer as one UDP GSO write (UDP_SEGMENT), which the kernel cuts into the same datagrams: less CPU per exported record. Where the kernel or NIC refuses, the agent goes back to single datagrams by itself (logged once, counted in export_gso_fallbacks_total); --no-export-gso never tries.',
    },
    'capture-threads': {
      type: 'integer',
      min: 1,
      max: 64,
      default: 1,
      placeholder: 'K',
      help: "With --interface: K capture rings joined by PACKET_FANOUT, one capture thread each. The kernel hashes each frame's connection to one ring, so a connection stays on one thread; export workers are split among the threads (at least one each). Round-robin needs the whole wire order on one thread: a round-robin topology with K > 1 is refused (its frames count as unassigned).",
    },
    'fanout-rollover': {
      type: 'boolean',
      help: 'With --capture-threads K > 1: a frame whose ring is full goes to another ring instead of being dropped (PACKET_FANOUT_FLAG_ROLLOVER); counted in thread_rollover_frames_total. Such a connection then runs on two threads and may reach the analyzer out of order.',
    },
    cpus: {
      type: 'list',
      placeholder: 'CPU,CPU,…',
      hint: 'CPU numbers such as 0,1',
      validate: cpuListProblem,
      help: 'Pin the threads: capture thread k to the k-th CPU of the list, then the export workers in turn after the capture threads (worker w to CPU number K + w of the list), wrapping around the list.',
    },
    filter: {
      type: 'string',
      placeholder: 'EXPR',
      help: "tcpdump-style capture filter (libpcap syntax, man pcap-filter) run on each frame before selection, on the first --snaplen bytes as the kernel hands them over (outer VLAN tag already taken out); rejected frames are counted (filtered_frames_total). In-band topology frames always pass. Every node of a cluster must use the same filter, or the cluster's exactly-once accounting no longer holds. It keeps the selection in user space (--selection auto chooses user; xdp, socket and --distribute are refused with it).",
    },
    selection: {
      type: 'enum',
      values: [...SELECTION_STAGES],
      default: 'auto',
      help: "Where another node's frames are dropped: xdp (an XDP program on --interface: they never reach any socket, also not other local capture tools), socket (the capture socket's BPF filter: they are never copied into the ring), user (the capture thread; the only stage for --pcap). auto takes the first that works and logs which and why. Needs root (BPF) for xdp and socket.",
    },
    distribute: {
      type: 'boolean',
      help: "Distribution mode: the selection runs at XDP on --interface, so every local consumer (tcpdump, Zeek, Suricata on AF_PACKET) sees exactly this node's frames, whole. Export goes on to the --analyzer(s), if any. The program is removed on exit; one left by a killed agent is replaced at the next start, or remove it by hand: `ip link set dev IF xdpgeneric off` (`xdpdrv off` if it ran in the driver; `ip link show dev IF` shows which).",
    },
    workers: {
      type: 'integer',
      min: 0,
      max: 64,
      default: DEFAULT_WORKERS,
      help: 'Export worker threads (default: the number of cores); a connection always goes to the same worker. 0: no workers, each capture thread batches and sends what it owns itself: no queue and no hand-off between threads, the least CPU per frame where cores are few (a box with as many capture threads as cores), but a capture thread waiting on a send does not read its ring meanwhile (the ring absorbs it, or its drops are counted).',
    },
    'flush-ms': {
      type: 'integer',
      min: 1,
      max: 10000,
      default: DEFAULT_FLUSH_MS,
      placeholder: 'MS',
      help: 'A partly filled batch is sent after this many milliseconds, so quiet links are not held back.',
    },
    'payload-size': {
      type: 'integer',
      min: 128,
      max: 65507,
      default: DEFAULT_PAYLOAD_SIZE,
      placeholder: 'BYTES',
      help: 'UDP payload bytes per header batch (1472 fits a 1500-byte MTU).',
    },
    'ring-block-size': {
      type: 'integer',
      min: PAGE_SIZE,
      max: 1 << 30,
      default: DEFAULT_RING_BLOCK_SIZE,
      placeholder: 'BYTES',
      validate: (v) =>
        v % PAGE_SIZE === 0
          ? undefined
          : `must be a multiple of the page size ${PAGE_SIZE}, such as ${DEFAULT_RING_BLOCK_SIZE}`,
      help: 'TPACKET_V3 ring block size in bytes.',
    },
    'ring-blocks': {
      type: 'integer',
      min: 2,
      max: 65536,
      default: DEFAULT_RING_BLOCKS,
      help: 'Number of ring blocks; block size × blocks is the burst the ring absorbs.',
    },
    'ring-retire-ms': {
      type: 'integer',
      min: 1,
      max: 1000,
      default: DEFAULT_RING_RETIRE_MS,
      placeholder: 'MS',
      help: 'The kernel hands over a partly filled ring block after this many milliseconds.',
    },
    'queue-slots': {
      type: 'integer',
      min: 64,
      max: 1 << 22,
      default: DEFAULT_QUEUE_SLOTS,
      help: 'Frames each worker queue holds between the capture thread and the worker.',
    },
    metrics: {
      type: 'host-port',
      ipv6: true,
      help: 'Serve Prometheus metrics at http://HOST:PORT/metrics (and /healthz); docs/metrics.md lists them. [IPv6]:PORT too; [::]:PORT listens on IPv6 and IPv4.',
    },
    summary: {
      type: 'string',
      placeholder: 'FILE',
      help: 'Write the counters as JSON to FILE (for scripts and the lab): once capture starts, every --status-interval while running ("final": false), and the final counters on exit ("final": true). Each write replaces the file whole (temporary file and rename), so a reader never sees half of one.',
    },
    'status-interval': CLUSTER_OPTIONS['status-interval'],
    'log-format': CLUSTER_OPTIONS['log-format'],
  },
});
