// Options and defaults that every component of a cluster shares (the selection, the
// cluster key, the control plane's discovery and heartbeat, the log format), declared once and spread into
// the agent's, analyzer's, coordinator's and `dicap owner`'s tables, so a flag means the
// same on every box.
import net from 'node:net';
import { DEFAULT_LOG_FORMAT, LOG_FORMATS } from './logger.js';
import type { OptionDeclaration } from './options.js';
import { deriveTiming, TIMING_PROFILES, type ControlTiming } from './timing.js';

export const DEFAULT_SNAPLEN = 128;
/** The largest snaplen a header batch carries (cap_len is u16); `--snaplen 0` means it: whole frames. */
export const WHOLE_FRAME_SNAPLEN = 65535;
export const DEFAULT_PAYLOAD_SIZE = 1472;
export const DEFAULT_MODE = 'flow';
export const DEFAULT_STATUS_INTERVAL_S = 5;
export const DEFAULT_DISCOVER_GROUP = { host: '239.255.68.67', port: 7401 };
/** Static topologies carry this epoch; coordinators start theirs above it. */
export const STATIC_EPOCH = 1;

/** An interval of the control plane: unset, it comes from the --timing profile (common/timing.ts). */
export function timingOption(key: keyof ControlTiming, min: number, max: number, help: string) {
  const defaults = TIMING_PROFILES.map((p) => `${deriveTiming(p)[key]} with --timing ${p}`).join(', ');
  return {
    type: 'integer',
    min,
    max,
    placeholder: 'MS',
    help: `${help} Default: ${defaults}.`,
  } as const satisfies OptionDeclaration;
}

function hashKeysProblem(list: readonly string[]): string | undefined {
  if (list.length !== 2) return 'must be two 32-bit words k0,k1 such as 0x1234,0x5678';
  for (const word of list) {
    const value = Number(word);
    if (!/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(word) || value > 0xffffffff) {
      return `has "${word}", which is not a 32-bit word; write k0,k1 in hex or decimal such as 0x1234,0x5678`;
    }
  }
  return undefined;
}

function nodeIdsProblem(list: readonly string[]): string | undefined {
  const seen = new Set<number>();
  for (const word of list) {
    const value = Number(word);
    if (!/^[0-9]{1,10}$/.test(word) || value > 0xffffffff)
      return `has "${word}", which is not a 32-bit node ID`;
    if (seen.has(value)) return `lists node ID ${value} twice; every node appears once`;
    seen.add(value);
  }
  return undefined;
}

export const CLUSTER_OPTIONS = {
  'node-id': {
    type: 'integer',
    min: 0,
    max: 0xffffffff,
    required: true,
    placeholder: 'ID',
    help: "This node's 32-bit ID; its position is its index in --nodes.",
  },
  nodes: {
    type: 'list',
    placeholder: 'ID,ID,…',
    hint: 'the ordered node IDs such as 11,22,33',
    validate: nodeIdsProblem,
    help: 'Static topology: the ordered IDs of all capture nodes (the k-th has position k). Not needed with --coordinator/--discover.',
  },
  discover: {
    type: 'boolean',
    help: 'Find the coordinator by its multicast announcement (see --discover-group).',
  },
  'discover-group': {
    type: 'host-port',
    default: DEFAULT_DISCOVER_GROUP,
    help: 'Multicast group where coordinators announce themselves.',
  },
  user: {
    type: 'string',
    placeholder: 'NAME',
    hint: 'an unprivileged user such as dicap',
    help: 'Started as root: once its sockets are open, run as this user (its uid and primary group) with only the capabilities the component still needs (its README says which). Without it a root process stays root.',
  },
  'control-address': {
    type: 'string',
    placeholder: 'IP',
    hint: 'an IPv4 address of this host such as 198.18.0.11',
    validate: (ip) => (net.isIPv4(ip) ? undefined : 'must be an IPv4 address of this host'),
    help: 'Local IPv4 address of the control socket (JOIN, heartbeats, topologies). Default: the address this host sends from towards the first --coordinator; with --discover alone it must be given (0.0.0.0 listens on every address).',
  },
  timing: {
    type: 'enum',
    values: TIMING_PROFILES,
    default: 'default',
    help: "The control plane's intervals: default (DiCAP's heartbeat every 5 s, removal after 15 s) or fast (a dead node or coordinator replaced within a second). Intervals given as flags go on top; the related ones follow them, and contradictions are refused at start (protocol/SPEC.md §6.11).",
  },
  'heartbeat-interval-ms': timingOption(
    'heartbeatIntervalMs',
    50,
    600000,
    "How often to heartbeat (and report the ledger) to the coordinators, until the coordinator's ACCEPT says the cluster's interval.",
  ),
  insecure: {
    type: 'boolean',
    help: 'Talk to the coordinator without a cluster key (the coordinator must run --insecure too).',
  },
  mode: {
    type: 'enum',
    values: ['round-robin', 'ipid', 'flow'],
    default: DEFAULT_MODE,
    help: 'Selection of the static topology: round-robin (DiCAP counter C mod N), ipid (DiCAP IPv4 ID hash) or flow (symmetric flow hash, whole connections per node). With a coordinator, its topology decides.',
  },
  key: {
    type: 'list',
    default: ['0', '0'],
    placeholder: 'K0,K1',
    hint: 'two 32-bit words such as 0x1234,0x5678',
    validate: hashKeysProblem,
    help: 'Selection hash key words k0,k1 of the static topology (SPEC §4); every node of a cluster uses the same. With a coordinator, its topology decides.',
  },
  'cluster-key-file': {
    type: 'string',
    placeholder: 'FILE',
    help: 'File holding the cluster key as hex on one line (`openssl rand -hex 32 > FILE`, mode 0600), the same file on every process of the cluster. It authenticates control messages and in-band topology frames; without it no in-band frame is trusted.',
  },
  // The agent and the analyzer rewrite their --summary FILE at this pace; the coordinator has
  // no summary file and gives its own help.
  'status-interval': {
    type: 'integer',
    min: 0,
    max: 3600,
    default: DEFAULT_STATUS_INTERVAL_S,
    placeholder: 'S',
    hint: 'a number of seconds such as 5, or 0 for none',
    help: 'Seconds between one-line status reports on stderr and rewrites of --summary FILE (0: neither; the summary is then written at start and exit only).',
  },
  'log-format': {
    type: 'enum',
    values: LOG_FORMATS,
    default: DEFAULT_LOG_FORMAT,
    help: 'How the log on stderr is written: text (one line per record with an ISO 8601 time, the level and the message, for people) or json (NDJSON, one object per line with level, time, msg, component and structured fields, for journald/Loki pipelines).',
  },
  snaplen: {
    type: 'integer',
    min: 0,
    max: WHOLE_FRAME_SNAPLEN,
    default: DEFAULT_SNAPLEN,
    placeholder: 'BYTES',
    hint: 'a number of bytes 14-65535, or 0 for whole frames',
    validate: (value: number) => (value > 0 && value < 14 ? 'cannot hold an Ethernet header' : undefined),
    help: 'Bytes kept per frame, from the start of the Ethernet header; 0 keeps whole frames (up to 65535 bytes, as tcpdump -s 0). A record larger than a datagram travels in fragments the analyzer puts back together (SPEC §6.5).',
  },
} as const satisfies Record<string, OptionDeclaration>;

/** The snaplen a --snaplen value stands for: 0 is the whole frame (tcpdump's convention). */
export function resolveSnaplen(value: number): number {
  return value === 0 ? WHOLE_FRAME_SNAPLEN : value;
}

/**
 * A listener for a coordinator's topologies that warns once when the cluster's SNAPLEN is not
 * this component's --snaplen (`own`, as given: 0 for whole frames); `consequence` says what
 * that breaks here.
 */
export function snaplenMismatchWarning(
  component: string,
  own: number,
  consequence: string,
  warn: (line: string) => void,
): (topology: { snaplen: number }) => void {
  let warned = false;
  return ({ snaplen }) => {
    if (warned || resolveSnaplen(snaplen) === resolveSnaplen(own)) return;
    warned = true;
    warn(
      `the topology's SNAPLEN ${snaplen} differs from this ${component}'s --snaplen ${own}: ${consequence}; give --snaplen ${snaplen} as the coordinator has it`,
    );
  };
}
