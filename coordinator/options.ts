// Options of `dicap coordinator`: defaults as named constants (DiCAP's heartbeat timing),
// one table, validation that names the key and the fix.
import { defineOptions } from '../common/options.js';
import { AGENT_OPTIONS, DEFAULT_DISCOVER_GROUP, DEFAULT_HEARTBEAT_INTERVAL_MS } from '../node-agent/options.js';

export const DEFAULT_CONTROL_PORT = 7400;
/** DiCAP: heartbeat every 5 s (DEFAULT_HEARTBEAT_INTERVAL_MS), a node is removed after 15 s of silence. */
export const DEFAULT_NODE_TIMEOUT_MS = 15000;
export const DEFAULT_TOPOLOGY_INTERVAL_MS = 5000;
export const DEFAULT_EPOCH_INTERVAL_MS = 10000;
export const DEFAULT_VALIDITY_DELAY_MS = 500;
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 2000;

export const COORDINATOR_OPTIONS = defineOptions({
  component: 'coordinator',
  summary: 'Coordinator: keeps the list of capture nodes and analyzers, tells every node the topology, checks coverage (the ledger).',
  usage: 'dicap coordinator --listen HOST:PORT (--cluster-key-file FILE | --insecure) [--mode M] [--inject-interface IF] [options]',
  options: {
    listen: { type: 'host-port', default: { host: '0.0.0.0', port: DEFAULT_CONTROL_PORT }, help: 'UDP address for control messages from agents and analyzers.' },
    advertise: { type: 'string', placeholder: 'IP', help: 'The IPv4 address agents reach this coordinator at (ACCEPT, ANNOUNCE); default: the --listen address, which must then not be 0.0.0.0.' },
    'cluster-key-file': AGENT_OPTIONS.options['cluster-key-file'],
    insecure: { type: 'boolean', help: 'Run without a cluster key (every process of the cluster must say so too). Anyone on the management network can then steer the cluster.' },
    mode: AGENT_OPTIONS.options.mode,
    key: { ...AGENT_OPTIONS.options.key, default: undefined, help: 'Selection hash key words k0,k1; default: derived from the cluster key, so every coordinator agrees without configuration.' },
    snaplen: AGENT_OPTIONS.options.snaplen,
    'heartbeat-interval-ms': { type: 'integer', min: 50, max: 600000, default: DEFAULT_HEARTBEAT_INTERVAL_MS, placeholder: 'MS', help: 'How often nodes heartbeat (set the same on agents and analyzers); the ledger waits this long for final reports.' },
    'node-timeout-ms': { type: 'integer', min: 100, max: 3600000, default: DEFAULT_NODE_TIMEOUT_MS, placeholder: 'MS', help: 'A node silent this long is removed and the topology reissued.' },
    'topology-interval-ms': { type: 'integer', min: 100, max: 600000, default: DEFAULT_TOPOLOGY_INTERVAL_MS, placeholder: 'MS', help: 'The current topology is resent this often (for nodes that missed it).' },
    'epoch-interval-ms': { type: 'integer', min: 0, max: 86400000, default: DEFAULT_EPOCH_INTERVAL_MS, placeholder: 'MS', help: 'A new epoch (same nodes) is started this often so the ledger can close and check epochs, and round-robin counters are re-synchronised (0: only on membership changes).' },
    'validity-delay-ms': { type: 'integer', min: 0, max: 60000, default: DEFAULT_VALIDITY_DELAY_MS, placeholder: 'MS', help: 'Hash modes: a topology takes effect this far in the future, so every node switches on the same frame.' },
    'inject-interface': { type: 'string', placeholder: 'IF', help: 'Round-robin: the interface on the monitored link (upstream of the mirror) where topology frames are injected in-band.' },
    'announce-group': { type: 'host-port', default: DEFAULT_DISCOVER_GROUP, help: 'Multicast group where the coordinator announces itself (agents started with --discover listen there).' },
    'announce-interval-ms': { type: 'integer', min: 0, max: 600000, default: DEFAULT_ANNOUNCE_INTERVAL_MS, placeholder: 'MS', help: 'How often to announce (0: never).' },
    http: { type: 'host-port', help: 'Serve the status and ledger as JSON (/status, /ledger, /events) and Prometheus metrics (/metrics) at http://HOST:PORT.' },
    'status-interval': { type: 'integer', min: 0, max: 3600, default: 5, placeholder: 'S', help: 'Seconds between one-line status reports on stderr (0: none).' },
  },
});
