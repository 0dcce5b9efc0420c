// Options of `dicap lab up|status|down|replay`: one table per subcommand, defaults as the
// named constants of topology.ts, validation that names the value and the fix.
import { defineOptions } from '../common/options.js';
import { CLUSTER_OPTIONS, DEFAULT_SNAPLEN } from '../common/cluster-options.js';
import { DEFAULT_HASH_KEY } from './cluster.js';
import {
  DEFAULT_ANALYZERS,
  DEFAULT_CAPTURE_HOSTS,
  DEFAULT_COORDINATORS,
  DEFAULT_LAB_ID,
  DEFAULT_WIRE_CPU,
  DEFAULT_WIRE_MTU,
  LAB_ID_PATTERN,
  MAX_ANALYZERS,
  MAX_CAPTURE_HOSTS,
  MAX_COORDINATORS,
} from './topology.js';

const labId = (help: string, withDefault: boolean) =>
  ({
    type: 'string',
    help,
    placeholder: 'ID',
    hint: '1 to 4 lower-case letters or digits such as 0 or t1',
    ...(withDefault ? { default: DEFAULT_LAB_ID } : {}),
    validate: (value: string) =>
      LAB_ID_PATTERN.test(value)
        ? undefined
        : 'is not 1 to 4 lower-case letters or digits; give an id such as 0 or t1',
  }) as const;

const WHICH_LAB = 'Which lab; without it, the only lab that is up.';

/** Defaults of a cluster the lab runs itself (`replay --out`, `demo`). */
export const DEFAULT_CLUSTER_MODE = 'flow';
/** One export worker per agent: several agents share the machine's cores. */
export const DEFAULT_CLUSTER_WORKERS = 1;
export const DEFAULT_DEMO_RATE = 20_000;
export const DEFAULT_DEMO_HTTP_PORT = 8400;
export const DEFAULT_DEMO_ID = 'demo';

const HASH_WORD = /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/;

function hashKeyProblem(words: readonly string[]): string | undefined {
  if (words.length !== 2) return 'must be two 32-bit words k0,k1 such as 0x1234,0x5678';
  const bad = words.find((w) => !HASH_WORD.test(w) || Number(w) > 0xffffffff);
  return bad === undefined
    ? undefined
    : `has "${bad}", which is not a 32-bit word; write k0,k1 in hex or decimal such as 0x1234,0x5678`;
}

/** The words of a --key that passed its validation. */
export function parseHashKey(words: readonly string[]): [number, number] {
  return [Number(words[0]), Number(words[1])];
}

const hexKey = (key: readonly number[]): string => key.map((k) => `0x${k.toString(16)}`).join(',');
const SELECTION_MODES = ['flow', 'ipid', 'round-robin'] as const;

export const UP_OPTIONS = defineOptions({
  component: 'lab',
  summary:
    'Builds a capture cluster in network namespaces: a traffic source, a tc mirror copying every frame in order to N capture hosts, analyzers and coordinators on a management bridge (198.18.0.0/24). The lab stays until `dicap lab down`.',
  usage: 'dicap lab up [--nodes N] [--analyzers M] [--coordinators K] [--id ID]',
  options: {
    nodes: {
      type: 'integer',
      help: 'number of capture hosts, each with a passive interface that receives the mirror',
      default: DEFAULT_CAPTURE_HOSTS,
      min: 1,
      max: MAX_CAPTURE_HOSTS,
    },
    analyzers: {
      type: 'integer',
      help: 'number of analyzer hosts on the management bridge (198.18.0.100 and up)',
      default: DEFAULT_ANALYZERS,
      min: 0,
      max: MAX_ANALYZERS,
    },
    coordinators: {
      type: 'integer',
      help: 'number of coordinator hosts on the management bridge (198.18.0.200 and up), each with an in-band injection interface into the wire',
      default: DEFAULT_COORDINATORS,
      min: 0,
      max: MAX_COORDINATORS,
    },
    id: labId(
      'lab id; every namespace and interface name starts with dcl<ID>, so several labs can exist side by side',
      true,
    ),
    mtu: {
      type: 'integer',
      help: 'MTU of every interface on the mirrored path, in bytes',
      default: DEFAULT_WIRE_MTU,
      min: 68,
      max: 65535,
    },
    'wire-cpu': {
      type: 'integer',
      help: 'CPU that runs the wire: its receive processing and the mirror (tcpreplay is pinned to it too)',
      default: DEFAULT_WIRE_CPU,
      min: 0,
    },
  },
});

export const STATUS_OPTIONS = defineOptions({
  component: 'lab',
  summary:
    "Shows the lab's hosts and, for each capture host's passive interface, its rx packets, bytes and dropped counters (from /sys/class/net/<if>/statistics in its namespace).",
  usage: 'dicap lab status [--id ID] [--json]',
  options: {
    id: labId(WHICH_LAB, false),
    json: { type: 'boolean', help: 'print the topology and counters as JSON' },
  },
});

export const DOWN_OPTIONS = defineOptions({
  component: 'lab',
  summary:
    'Removes a lab: stops every process started in it, deletes its namespaces (and with them every interface it made) and its state. Also removes what a crashed `up` left.',
  usage: 'dicap lab down [--id ID | --all]',
  options: {
    id: labId(WHICH_LAB, false),
    all: { type: 'boolean', help: 'remove every lab on this machine' },
  },
});

export const REPLAY_OPTIONS = defineOptions({
  component: 'lab',
  summary:
    "Sends capture files into the lab's wire with tcpreplay from the source host and reports what each capture host's passive interface received. " +
    'With --out DIR it is a whole experiment instead: it builds a fresh lab, runs a capture cluster in it (an agent per capture host, an analyzer), replays the files, ' +
    "takes the lab down and writes the analyzer's pcap and summary.json (per layer counts and the coverage verdict) to DIR; it exits 1 when coverage is not exactly once.",
  usage:
    'dicap lab replay FILE… [--pps R | --mbps M | --topspeed] [--loop N] [--no-pin] [--id ID] [--out DIR [--nodes N] [--mode M] [--snaplen B] [--workers W] [--key K0,K1] [--selection S] [--distribute] [--change-topology]]',
  options: {
    out: {
      type: 'string',
      placeholder: 'DIR',
      help: 'run the whole experiment (fresh lab, cluster, replay, teardown) and write DIR/analyzer1.pcap and DIR/summary.json',
    },
    nodes: {
      type: 'integer',
      min: 1,
      max: MAX_CAPTURE_HOSTS,
      help: `with --out: capture nodes (default ${DEFAULT_CAPTURE_HOSTS})`,
    },
    mode: {
      type: 'enum',
      values: SELECTION_MODES,
      help: `with --out: selection mode (default ${DEFAULT_CLUSTER_MODE}); round-robin first sends an in-band topology frame from coordinator1 and waits until every agent adopted it`,
    },
    snaplen: {
      ...CLUSTER_OPTIONS.snaplen,
      default: undefined,
      help: `with --out: bytes kept per frame, 0 for whole frames (default ${DEFAULT_SNAPLEN})`,
    },
    workers: {
      type: 'integer',
      min: 0,
      max: 64,
      help: `with --out: export workers per agent (default ${DEFAULT_CLUSTER_WORKERS}; 0: each capture thread exports itself)`,
    },
    key: {
      type: 'list',
      placeholder: 'K0,K1',
      hint: 'two 32-bit words such as 0x1234,0x5678',
      validate: hashKeyProblem,
      help: `with --out: selection hash key words (default ${hexKey(DEFAULT_HASH_KEY)})`,
    },
    selection: {
      type: 'enum',
      values: ['auto', 'xdp', 'socket', 'user'],
      help: "with --out: where the agents drop another node's frames (dicap agent --selection; default auto)",
    },
    distribute: {
      type: 'boolean',
      help: 'with --out: distribution mode (dicap agent --distribute); every capture host also runs tcpdump into DIR/local-<node id>.pcap, and their union must be the wire, every frame once and whole',
    },
    'change-topology': {
      type: 'boolean',
      help: 'with --out: halfway through the replay, switch every agent to a new topology (epoch 3, hash key words swapped) with in-band frames; coverage must stay exactly once',
    },
    pps: { type: 'integer', help: 'frames per second', min: 1 },
    mbps: { type: 'integer', help: 'megabits per second', min: 1 },
    topspeed: {
      type: 'boolean',
      help: 'send as fast as possible; without --pps, --mbps or --topspeed the files keep their own timing',
    },
    loop: { type: 'integer', help: 'send the files this many times', default: 1, min: 1 },
    pin: {
      type: 'boolean',
      help: "run tcpreplay on the wire's CPU, which paces it to what the mirror can take (with --no-pin it may overrun the mirror's queue: retries in tcpreplay's report, mirror tx_dropped in the counters)",
      default: true,
    },
    id: labId(`${WHICH_LAB} With --out: the id of the lab to build (default a fresh one, r…).`, false),
  },
});

export const DEMO_OPTIONS = defineOptions({
  component: 'lab',
  summary:
    'Builds a lab and runs the whole cluster in it: three coordinators (one active, two standbys), an agent per capture host and an analyzer, ' +
    "all following the active coordinator, with synthetic traffic (dicap gen) through the mirror. Serves the active coordinator's dashboard on " +
    "127.0.0.1 (--http-port) and shows every node's counters, the coordinators and the coverage ledger every second. Runs at the fast timing profile (--timing fast: a dead " +
    'node or active coordinator replaced within about half a second). Keys: n kills and restarts ' +
    'a capture node, c kills the active coordinator (watch a standby take over), r restarts it, q or Ctrl-C stops everything and removes the lab. ' +
    'What `npm start` runs.',
  usage: 'dicap lab demo [--nodes N] [--rate PPS] [--mode M] [--http-port PORT] [--id ID]',
  options: {
    nodes: {
      type: 'integer',
      min: 1,
      max: 8,
      default: DEFAULT_CAPTURE_HOSTS,
      help: 'capture nodes (up to 8, so that the screen fits 24 lines)',
    },
    rate: {
      type: 'integer',
      min: 1,
      max: 10_000_000,
      default: DEFAULT_DEMO_RATE,
      placeholder: 'PPS',
      help: 'frames per second the traffic generator sends',
    },
    mode: {
      type: 'enum',
      values: SELECTION_MODES,
      default: DEFAULT_CLUSTER_MODE,
      help: 'selection mode; in round-robin the active coordinator synchronises the nodes with in-band topology frames',
    },
    'http-port': {
      type: 'integer',
      min: 0,
      max: 65535,
      default: DEFAULT_DEMO_HTTP_PORT,
      placeholder: 'PORT',
      help: "port on 127.0.0.1 where this machine's browser opens the active coordinator's dashboard (0: any free port; the screen shows it)",
    },
    id: {
      ...labId("id of the demo's lab, which the demo builds and removes", false),
      default: DEFAULT_DEMO_ID,
    },
  },
});
