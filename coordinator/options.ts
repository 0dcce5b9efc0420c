// Options of `dicap coordinator`: defaults as named constants (DiCAP's heartbeat timing),
// one table, validation that names the key and the fix.
import { defineOptions } from '../common/options.js';
import {
  CLUSTER_OPTIONS,
  DEFAULT_DISCOVER_GROUP,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
} from '../common/cluster-options.js';

export const DEFAULT_CONTROL_PORT = 7400;
/** DiCAP: heartbeat every 5 s (DEFAULT_HEARTBEAT_INTERVAL_MS), a node is removed after 15 s of silence. */
export const DEFAULT_NODE_TIMEOUT_MS = 15000;
export const DEFAULT_TOPOLOGY_INTERVAL_MS = 5000;
export const DEFAULT_EPOCH_INTERVAL_MS = 10000;
export const DEFAULT_VALIDITY_DELAY_MS = 500;
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 2000;
export const DEFAULT_SYNC_INTERVAL_MS = 1000;
export const DEFAULT_ELECTION_TIMEOUT_MS = 3000;
export const DEFAULT_SOLITUDE_MS = 10000;

const PEER = /^(\d{1,3})@(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** `--peer ID@IP:PORT`, e.g. 2@198.18.0.202:7400. */
export function parsePeer(text: string): { id: number; endpoint: { ip: string; port: number } } | undefined {
  const m = PEER.exec(text);
  if (!m) return undefined;
  const [id, port] = [Number(m[1]), Number(m[3])];
  if (id < 1 || id > 255 || port < 1 || port > 65535) return undefined;
  return { id, endpoint: { ip: m[2]!, port } };
}

export const COORDINATOR_OPTIONS = defineOptions({
  component: 'coordinator',
  summary:
    'Coordinator: keeps the list of capture nodes and analyzers, tells every node the topology, checks coverage (the ledger).',
  usage:
    'dicap coordinator --listen HOST:PORT (--cluster-key-file FILE | --insecure) [--mode M] [--inject-interface IF] [options]',
  options: {
    listen: {
      type: 'host-port',
      default: { host: '0.0.0.0', port: DEFAULT_CONTROL_PORT },
      help: 'UDP address for control messages from agents, analyzers and the other coordinators: an IPv4 address of this host on the management network, or 0.0.0.0 together with --advertise.',
    },
    advertise: {
      type: 'string',
      placeholder: 'IP',
      help: 'The IPv4 address agents reach this coordinator at (ACCEPT, ANNOUNCE); default: the --listen address, which must then not be 0.0.0.0.',
    },
    'cluster-key-file': {
      ...CLUSTER_OPTIONS['cluster-key-file'],
      help: 'File holding the cluster key as hex on one line (`openssl rand -hex 32 > FILE`, mode 0600), the same file on every process of the cluster. It authenticates every control message and in-band topology frame, and derives the selection hash keys. Give it or --insecure.',
    },
    insecure: {
      type: 'boolean',
      help: 'Run without a cluster key (every process of the cluster must say so too). Anyone on the management network can then steer the cluster.',
    },
    mode: {
      ...CLUSTER_OPTIONS.mode,
      help: 'Selection the cluster uses: round-robin (DiCAP counter C mod N; needs --inject-interface), ipid (DiCAP IPv4 ID hash) or flow (symmetric flow hash, whole connections per node; what an IDS needs).',
    },
    key: {
      ...CLUSTER_OPTIONS.key,
      default: undefined,
      help: 'Selection hash key words k0,k1; default: derived from the cluster key, so every coordinator agrees without configuration.',
    },
    snaplen: {
      ...CLUSTER_OPTIONS.snaplen,
      help: 'Bytes every node keeps per frame, from the start of the Ethernet header (sent in the topology).',
    },
    'heartbeat-interval-ms': {
      type: 'integer',
      min: 50,
      max: 600000,
      default: DEFAULT_HEARTBEAT_INTERVAL_MS,
      placeholder: 'MS',
      help: 'How often nodes heartbeat (set the same on agents and analyzers); the ledger waits this long for final reports.',
    },
    'node-timeout-ms': {
      type: 'integer',
      min: 100,
      max: 3600000,
      default: DEFAULT_NODE_TIMEOUT_MS,
      placeholder: 'MS',
      help: 'A node silent this long is removed and the topology reissued.',
    },
    'topology-interval-ms': {
      type: 'integer',
      min: 100,
      max: 600000,
      default: DEFAULT_TOPOLOGY_INTERVAL_MS,
      placeholder: 'MS',
      help: 'The current topology is resent this often (for nodes that missed it).',
    },
    'epoch-interval-ms': {
      type: 'integer',
      min: 0,
      max: 86400000,
      default: DEFAULT_EPOCH_INTERVAL_MS,
      placeholder: 'MS',
      help: 'A new epoch (same nodes) is started this often so the ledger can close and check epochs, and round-robin counters are re-synchronised (0: only on membership changes).',
    },
    'validity-delay-ms': {
      type: 'integer',
      min: 0,
      max: 60000,
      default: DEFAULT_VALIDITY_DELAY_MS,
      placeholder: 'MS',
      help: 'Hash modes: a topology takes effect this far in the future, so every node switches on the same frame.',
    },
    'inject-interface': {
      type: 'string',
      placeholder: 'IF',
      help: 'Round-robin: the interface on the monitored link (upstream of the mirror) where topology frames are injected in-band.',
    },
    'announce-group': {
      type: 'host-port',
      default: DEFAULT_DISCOVER_GROUP,
      help: 'Multicast group where the coordinator announces itself (agents started with --discover listen there).',
    },
    'announce-interval-ms': {
      type: 'integer',
      min: 0,
      max: 600000,
      default: DEFAULT_ANNOUNCE_INTERVAL_MS,
      placeholder: 'MS',
      help: 'How often to announce (0: never).',
    },
    'coordinator-id': {
      type: 'integer',
      min: 1,
      max: 255,
      default: 1,
      placeholder: 'ID',
      help: "This coordinator's ID, 1..255, unique among the cluster's coordinators (the low byte of every term it starts).",
    },
    peer: {
      type: 'string',
      repeatable: true,
      placeholder: 'ID@IP:PORT',
      hint: 'the other coordinators such as 2@198.18.0.202:7400',
      validate: (v) =>
        parsePeer(v)
          ? undefined
          : 'is not ID@IP:PORT with ID 1..255; give the other coordinators such as 2@198.18.0.202:7400',
      help: 'Another coordinator of the cluster (repeat for each). With peers, exactly one coordinator is active; the others stand by and take over by election.',
    },
    'sync-interval-ms': {
      type: 'integer',
      min: 50,
      max: 60000,
      default: DEFAULT_SYNC_INTERVAL_MS,
      placeholder: 'MS',
      help: 'The active coordinator sends its state (SYNC) to the standbys this often.',
    },
    'election-timeout-ms': {
      type: 'integer',
      min: 100,
      max: 600000,
      default: DEFAULT_ELECTION_TIMEOUT_MS,
      placeholder: 'MS',
      help: 'A standby that hears no SYNC for 1-2× this long stands for election; an active without acks from a majority for half of it steps down.',
    },
    'solitude-ms': {
      type: 'integer',
      min: 100,
      max: 3600000,
      default: DEFAULT_SOLITUDE_MS,
      placeholder: 'MS',
      help: 'A candidate that hears no other coordinator for this long becomes active alone if a majority of the capture nodes heartbeat to it.',
    },
    http: {
      type: 'host-port',
      help: 'Serve the live dashboard (/, for people; /dashboard.json), the status and ledger as JSON (/status, /ledger, /events) and Prometheus metrics (/metrics, listed in docs/metrics.md) at http://HOST:PORT.',
    },
    'status-interval': {
      type: 'integer',
      min: 0,
      max: 3600,
      default: 5,
      placeholder: 'S',
      help: 'Seconds between one-line status reports on stderr (0: none).',
    },
  },
});
