// `dicap gen`: synthetic traffic for the lab and the benchmarks. Sends through an interface
// (AF_PACKET) at a fixed or the highest rate, or writes the same frames to a pcap file.
// Prints a progress line every second on stderr, and at the end one line (or, with --json,
// one JSON object) on stdout saying what was sent.
import { badConfig, errorMessage } from '../common/errors.js';
import { defineOptions, runCommand, type OptionValues } from '../common/options.js';
import {
  DEFAULT_FLOWS,
  DEFAULT_IPID_MIX,
  DEFAULT_SEED,
  MAX_FLOWS,
  TrafficGenerator,
  type IpIdMix,
  type TrafficGeneratorCounters,
  type TrafficGeneratorOptions,
} from '../native/traffic-generator.js';

export const DEFAULT_RATE = 'max';
export const DEFAULT_IPID_MIX_TEXT = [
  `counter:${DEFAULT_IPID_MIX.counter}`,
  `random:${DEFAULT_IPID_MIX.random}`,
  `zero-df:${DEFAULT_IPID_MIX.zeroDf}`,
];
const PROGRESS_INTERVAL_MS = 1000;
const IPID_NAMES: Record<string, keyof IpIdMix> = {
  counter: 'counter',
  random: 'random',
  'zero-df': 'zeroDf',
};

function rateProblem(text: string): string | undefined {
  return text === 'max' || (/^[0-9]+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)))
    ? undefined
    : `is not a rate; give frames per second such as 100000, or max`;
}

function durationProblem(text: string): string | undefined {
  return /^[0-9]+(\.[0-9]{1,3})?$/.test(text) && Number(text) > 0
    ? undefined
    : 'is not a duration; give seconds such as 10 or 0.5';
}

/** Reads `counter:60,random:20,zero-df:20` (behaviours not named get 0), or says what is wrong with it. */
function readIpIdMix(items: readonly string[]): { mix: IpIdMix } | { problem: string } {
  const mix: IpIdMix = { counter: 0, random: 0, zeroDf: 0 };
  const seen = new Set<string>();
  for (const item of items) {
    const match = /^([a-z-]+):([0-9]{1,7})$/.exec(item);
    const key = match ? IPID_NAMES[match[1]!] : undefined;
    if (!match || !key)
      return {
        problem: `has "${item}", which is not NAME:SHARE with NAME counter, random or zero-df; give shares such as counter:60,random:20,zero-df:20`,
      };
    if (seen.has(key)) return { problem: `names ${match[1]} twice; give each behaviour once` };
    seen.add(key);
    mix[key] = Number(match[2]);
  }
  if (mix.counter + mix.random + mix.zeroDf === 0)
    return { problem: 'has no non-zero share; give at least one such as counter:100' };
  return { mix };
}

/** Parses the --ipid-mix list; throws a one-line DicapError naming the problem. */
export function parseIpIdMix(items: readonly string[]): IpIdMix {
  const read = readIpIdMix(items);
  if ('problem' in read) throw badConfig(`--ipid-mix ${read.problem}`);
  return read.mix;
}

export const GEN_OPTIONS = defineOptions({
  component: 'gen',
  summary:
    'Synthetic traffic generator: many TCP/UDP/ICMP connections in both directions, IPv4 and IPv6 (some with an extension header), 802.1Q and QinQ tags, IPv4 and IPv6 fragments, 60..1514-byte frames and the IP-ID behaviours of real stacks. Addresses only from 198.18.0.0/15 and 2001:db8::/32, MACs 02:…; valid IP and transport checksums. The same --seed and --flows give the same frames.',
  usage: 'dicap gen (--interface IF | --write FILE) [--rate PPS|max] [--count N] [--duration S] [options]',
  options: {
    interface: {
      type: 'string',
      placeholder: 'IF',
      help: 'Send through this interface (AF_PACKET socket; needs root or CAP_NET_RAW, and an MTU of at least 1500).',
    },
    write: {
      type: 'string',
      placeholder: 'FILE',
      help: 'Write the frames to a classic nanosecond pcap file instead; time stamps are spaced by --rate (with max: the time each frame was made).',
    },
    rate: {
      type: 'string',
      default: DEFAULT_RATE,
      placeholder: 'PPS|max',
      hint: 'frames per second such as 100000, or max',
      validate: rateProblem,
      help: 'Frames per second (token bucket), or max for as fast as possible.',
    },
    count: {
      type: 'integer',
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      placeholder: 'N',
      help: 'Stop after N frames.',
    },
    duration: {
      type: 'string',
      placeholder: 'S',
      hint: 'seconds such as 10 or 0.5',
      validate: durationProblem,
      help: 'Stop after S seconds (with --write and a rate: after S seconds of time stamps).',
    },
    flows: {
      type: 'integer',
      min: 1,
      max: MAX_FLOWS,
      default: DEFAULT_FLOWS,
      placeholder: 'N',
      help: 'Concurrent connections; each is replaced by a new one when it ends.',
    },
    seed: {
      type: 'integer',
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      default: DEFAULT_SEED,
      help: 'Seed of the traffic: the same seed and --flows give the same frames, byte for byte.',
    },
    'ipid-mix': {
      type: 'list',
      default: DEFAULT_IPID_MIX_TEXT,
      placeholder: 'NAME:SHARE,…',
      hint: 'shares such as counter:60,random:20,zero-df:20',
      validate: (items) => {
        const read = readIpIdMix(items);
        return 'problem' in read ? read.problem : undefined;
      },
      help: 'Relative shares of the IPv4 IP-ID behaviours, drawn per sending side of a connection: counter (per-connection counter), random (random per datagram), zero-df (0 with DF set).',
    },
    'qdisc-bypass': {
      type: 'boolean',
      default: true,
      help: 'Hand frames straight to the driver (PACKET_QDISC_BYPASS): faster, but egress tc rules and captures on the sending interface do not see them.',
    },
    progress: { type: 'boolean', default: true, help: 'Print a progress line on stderr every second.' },
    json: { type: 'boolean', help: 'Print the final report as one JSON object on stdout instead of a line.' },
  },
});

type GenValues = OptionValues<typeof GEN_OPTIONS>;

function generatorOptions(values: GenValues): TrafficGeneratorOptions {
  const common = {
    rate: values.rate === 'max' ? 0 : Number(values.rate),
    count: values.count ?? 0,
    durationMs: values.duration === undefined ? 0 : Math.round(Number(values.duration) * 1000),
    flows: values.flows,
    seed: values.seed,
    ipidMix: parseIpIdMix(values.ipidMix),
  };
  return values.interface !== undefined
    ? { ...common, interface: values.interface, qdiscBypass: values.qdiscBypass }
    : { ...common, write: values.write as string };
}

/** The final report, for --json and for the line. */
export interface GenReport {
  output: { interface: string } | { file: string };
  requestedRate: number | 'max';
  seed: number;
  flows: number;
  frames: number;
  bytes: number;
  elapsedSeconds: number;
  framesPerSecond: number;
  bitsPerSecond: number;
  sendRefusals: number;
  framesFailed: number;
  lastErrno: number;
  cpuSecondsPerMillionFrames: number | null;
  error: string | null;
}

function report(values: GenValues, c: TrafficGeneratorCounters, error: string | null): GenReport {
  const seconds = c.elapsedNs / 1e9;
  return {
    output:
      values.interface !== undefined ? { interface: values.interface } : { file: values.write as string },
    requestedRate: values.rate === 'max' ? 'max' : Number(values.rate),
    seed: values.seed,
    flows: values.flows,
    frames: c.frames,
    bytes: c.bytes,
    elapsedSeconds: seconds,
    framesPerSecond: seconds > 0 ? c.frames / seconds : 0,
    bitsPerSecond: seconds > 0 ? (c.bytes * 8) / seconds : 0,
    sendRefusals: c.sendRefusals,
    framesFailed: c.framesFailed,
    lastErrno: c.lastErrno,
    cpuSecondsPerMillionFrames: c.frames > 0 ? c.cpuNs / 1e9 / (c.frames / 1e6) : null,
    error,
  };
}

function formatReport(r: GenReport): string {
  const where = 'interface' in r.output ? `sent on ${r.output.interface}` : `wrote to ${r.output.file}`;
  const cpu =
    r.cpuSecondsPerMillionFrames === null
      ? ''
      : `; CPU ${r.cpuSecondsPerMillionFrames.toFixed(3)} s per million frames`;
  return (
    `dicap gen: ${where}: ${r.frames} frames, ${r.bytes} bytes in ${r.elapsedSeconds.toFixed(3)} s ` +
    `(${Math.round(r.framesPerSecond)} frames/s, ${(r.bitsPerSecond / 1e6).toFixed(1)} Mbit/s); ` +
    `${r.sendRefusals} send refusals (retried), ${r.framesFailed} frames failed${cpu}`
  );
}

export function main(argv: string[]): Promise<number> {
  return runCommand(GEN_OPTIONS, argv, generatorOf, generate);
}

/** The generator the options describe; throws DicapError for a bad combination. */
function generatorOf(values: GenValues): { values: GenValues; generator: TrafficGenerator } {
  if ((values.interface === undefined) === (values.write === undefined)) {
    throw badConfig('give exactly one output: --interface IF (send) or --write FILE (pcap)');
  }
  if (values.write !== undefined && values.count === undefined && values.duration === undefined) {
    throw badConfig('--write needs --count N or --duration S, or the file would grow without end');
  }
  return { values, generator: new TrafficGenerator(generatorOptions(values)) };
}

function generate({
  values,
  generator,
}: {
  values: GenValues;
  generator: TrafficGenerator;
}): Promise<number> {
  return new Promise<number>((resolve) => {
    let failure: string | null = null;
    let last = { frames: 0, ns: 0 };
    const progress = values.progress
      ? setInterval(() => {
          const c = generator.counters();
          const rate = c.elapsedNs > last.ns ? ((c.frames - last.frames) * 1e9) / (c.elapsedNs - last.ns) : 0;
          last = { frames: c.frames, ns: c.elapsedNs };
          console.error(
            `dicap gen: ${c.frames} frames, ${c.bytes} bytes, ${Math.round(rate)} frames/s; ${c.sendRefusals} send refusals, ${c.framesFailed} failed`,
          );
        }, PROGRESS_INTERVAL_MS)
      : undefined;

    let finished = false;
    const finish = (): void => {
      if (finished) return; // a signal and the end of the run may both arrive
      finished = true;
      if (progress) clearInterval(progress);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      generator.stop();
      const r = report(values, generator.counters(), failure);
      if (values.json) console.log(JSON.stringify(r));
      else console.log(formatReport(r));
      resolve(failure !== null || r.framesFailed > 0 ? 1 : 0);
    };
    generator.on('error', (error) => {
      failure = error.message;
      console.error(`dicap gen: ${error.message}`);
    });
    generator.on('end', finish);
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    try {
      generator.start();
    } catch (error) {
      if (progress) clearInterval(progress);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      console.error(`dicap gen: ${errorMessage(error)}`);
      resolve(2);
    }
  });
}
