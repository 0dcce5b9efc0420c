// Options of `dicap coordinator`: one table, validation that names the key and the fix. The
// intervals default to the --timing profile (common/timing.ts), whose rules main.ts checks.
import { CLUSTER_OPTIONS, DEFAULT_DISCOVER_GROUP, timingOption } from '../common/cluster-options.js';
import { defineOptions } from '../common/options.js';
import { MAX_SYNC_MEMBERS } from '../protocol/index.js';

export const DEFAULT_CONTROL_PORT = 7400;
/** Members (capture nodes and analyzers) at most, unless --max-members says otherwise. */
export const DEFAULT_MAX_MEMBERS = 1024;

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
    user: CLUSTER_OPTIONS.user,
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
    timing: CLUSTER_OPTIONS.timing,
    'heartbeat-interval-ms': timingOption(
      'heartbeatIntervalMs',
      50,
      600000,
      'How often nodes heartbeat; agents and analyzers learn it from ACCEPT. The ledger waits this long for final reports.',
    ),
    'max-members': {
      type: 'integer',
      min: 1,
      max: MAX_SYNC_MEMBERS,
      default: DEFAULT_MAX_MEMBERS,
      placeholder: 'N',
      help: `Capture nodes and analyzers at most; a JOIN (or heartbeat) of a new member beyond this is refused and counted (dicap_coordinator_joins_refused_total). At most ${MAX_SYNC_MEMBERS}, the members one SYNC can list.`,
    },
    'node-timeout-ms': timingOption(
      'nodeTimeoutMs',
      100,
      3600000,
      'A node silent this long is removed and the topology reissued (sooner when its peers keep reporting: SPEC §6.11).',
    ),
    'topology-interval-ms': timingOption(
      'topologyIntervalMs',
      100,
      600000,
      'The current topology is resent this often (for nodes that missed it).',
    ),
    'epoch-interval-ms': timingOption(
      'epochIntervalMs',
      0,
      86400000,
      'A new epoch (same nodes) is started this often so the ledger can close and check epochs, and round-robin counters are re-synchronised (0: only on membership changes).',
    ),
    'validity-delay-ms': timingOption(
      'validityDelayMs',
      0,
      60000,
      'Hash modes: a topology takes effect this far in the future, so every node switches on the same frame.',
    ),
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
    'announce-interval-ms': timingOption(
      'announceIntervalMs',
      0,
      600000,
      'How often to announce (0: never).',
    ),
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
    'sync-interval-ms': timingOption(
      'syncIntervalMs',
      50,
      60000,
      'The active coordinator sends its state (SYNC) to the standbys this often.',
    ),
    'election-timeout-ms': timingOption(
      'electionTimeoutMs',
      100,
      600000,
      'A standby that hears no SYNC for 1-1.5× this long stands for election; an active without acks from a majority for half of it steps down.',
    ),
    'solitude-ms': timingOption(
      'solitudeMs',
      100,
      3600000,
      'A candidate that hears no other coordinator for this long becomes active alone if a majority of the capture nodes heartbeat to it.',
    ),
    http: {
      type: 'host-port',
      ipv6: true,
      help: 'Serve the live dashboard (/, for people; /dashboard.json), the status and ledger as JSON (/status, /ledger, /events) and Prometheus metrics (/metrics, listed in docs/metrics.md) at http://HOST:PORT. [IPv6]:PORT too; [::]:PORT listens on IPv6 and IPv4.',
    },
    'status-interval': {
      ...CLUSTER_OPTIONS['status-interval'],
      help: 'Seconds between one-line status reports on stderr (0: none).',
    },
    'log-format': CLUSTER_OPTIONS['log-format'],
  },
});
