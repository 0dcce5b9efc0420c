// Options of `dicap lab up|status|down|replay`: one table per subcommand, defaults as the
// named constants of topology.ts, validation that names the value and the fix.
import { defineOptions } from '../common/options.js';
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
    validate: (value: string) => (LAB_ID_PATTERN.test(value) ? undefined : 'is not 1 to 4 lower-case letters or digits; give an id such as 0 or t1'),
  }) as const;

const WHICH_LAB = 'Which lab; without it, the only lab that is up.';

export const UP_OPTIONS = defineOptions({
  component: 'lab',
  summary: 'Builds a capture cluster in network namespaces: a traffic source, a tc mirror copying every frame in order to N capture hosts, analyzers and coordinators on a management bridge (198.18.0.0/24). The lab stays until `dicap lab down`.',
  usage: 'dicap lab up [--nodes N] [--analyzers M] [--coordinators K] [--id ID]',
  options: {
    nodes: { type: 'integer', help: 'number of capture hosts, each with a passive interface that receives the mirror', default: DEFAULT_CAPTURE_HOSTS, min: 1, max: MAX_CAPTURE_HOSTS },
    analyzers: { type: 'integer', help: 'number of analyzer hosts on the management bridge (198.18.0.100 and up)', default: DEFAULT_ANALYZERS, min: 0, max: MAX_ANALYZERS },
    coordinators: { type: 'integer', help: 'number of coordinator hosts on the management bridge (198.18.0.200 and up), each with an in-band injection interface into the wire', default: DEFAULT_COORDINATORS, min: 0, max: MAX_COORDINATORS },
    id: labId('lab id; every namespace and interface name starts with dcl<ID>, so several labs can exist side by side', true),
    mtu: { type: 'integer', help: 'MTU of every interface on the mirrored path, in bytes', default: DEFAULT_WIRE_MTU, min: 68, max: 65535 },
    'wire-cpu': { type: 'integer', help: 'CPU that runs the wire: its receive processing and the mirror (tcpreplay is pinned to it too)', default: DEFAULT_WIRE_CPU, min: 0 },
  },
});

export const STATUS_OPTIONS = defineOptions({
  component: 'lab',
  summary: "Shows the lab's hosts and, for each capture host's passive interface, its rx packets, bytes and dropped counters (from /sys/class/net/<if>/statistics in its namespace).",
  usage: 'dicap lab status [--id ID] [--json]',
  options: {
    id: labId(WHICH_LAB, false),
    json: { type: 'boolean', help: 'print the topology and counters as JSON' },
  },
});

export const DOWN_OPTIONS = defineOptions({
  component: 'lab',
  summary: 'Removes a lab: stops every process started in it, deletes its namespaces (and with them every interface it made) and its state. Also removes what a crashed `up` left.',
  usage: 'dicap lab down [--id ID | --all]',
  options: {
    id: labId(WHICH_LAB, false),
    all: { type: 'boolean', help: 'remove every lab on this machine' },
  },
});

export const REPLAY_OPTIONS = defineOptions({
  component: 'lab',
  summary: "Sends capture files into the lab's wire with tcpreplay from the source host and reports what each capture host's passive interface received.",
  usage: 'dicap lab replay FILE… [--pps R | --mbps M | --topspeed] [--loop N] [--no-pin] [--id ID]',
  options: {
    pps: { type: 'integer', help: 'frames per second', min: 1 },
    mbps: { type: 'integer', help: 'megabits per second', min: 1 },
    topspeed: { type: 'boolean', help: 'send as fast as possible; without --pps, --mbps or --topspeed the files keep their own timing' },
    loop: { type: 'integer', help: 'send the files this many times', default: 1, min: 1 },
    pin: { type: 'boolean', help: "run tcpreplay on the wire's CPU, which paces it to what the mirror can take (with --no-pin it may overrun the mirror's queue: retries in tcpreplay's report, mirror tx_dropped in the counters)", default: true },
    id: labId(WHICH_LAB, false),
  },
});
