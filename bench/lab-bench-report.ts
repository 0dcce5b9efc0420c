// The lab benchmark's report (lab-bench.ts runs it): its runs turned into three tables,
// the generator alone with the methods, frames and loss by layer, and CPU per million
// frames. A pure function of the runs, so the wording can be checked without a lab.
import type { ReportTable } from './report.js';

export type Rate = number | 'max';
/** What captured during a run: nothing (the generator alone), tcpdump on capture1, or the dicap cluster. */
/**
 * none: the generator alone; tcpdump: on capture1, the whole link; tcpdump-share: on every
 * capture host with the share filter `ip[4:2] % N = P` (what an admin would run instead of
 * dicap); tcpdump-share-export: the same, each tcpdump's pcap stream sent on to the analyzer
 * host by socat (what dicap's export does); dicap: the cluster with the agents' default
 * selection (auto); dicap-xdp, dicap-socket, dicap-user: the cluster with that --selection
 * (ipid mode); dicap-socket-flow: the same as dicap-socket in flow mode.
 */
export type Capturer =
  | 'none'
  | 'tcpdump'
  | 'tcpdump-share'
  | 'tcpdump-share-export'
  | 'dicap'
  | 'dicap-xdp'
  | 'dicap-socket'
  | 'dicap-socket-flow'
  | 'dicap-user';

/** Frames lost on the way from the passive interface to the capture's end, one run. null: the layer does not exist for this capturer. */
export interface CaptureLoss {
  /** dicap: records the analyzers received (duplicates not counted); tcpdump: packets captured. */
  captured: number;
  /** Σ over capture hosts of the ring's tp_drops (dicap: socketDrops; tcpdump: "dropped by kernel"). */
  ring: number;
  /** Σ frames dropped because an agent's worker queue was full. */
  queue: number | null;
  /** Σ records an agent could not send (send failed, or no analyzer). */
  send: number | null;
  /** Records the agents exported that the analyzers did not receive. */
  exportRecords: number | null;
  /** Datagrams the analyzers found missing (sequence gaps, less late ones) or their socket dropped. */
  exportDatagrams: number | null;
}

export interface LabRun {
  nodes: number;
  rate: Rate;
  capturer: Capturer;
  repeat: number;
  /** Frames dicap gen sent (its socket accepted them). */
  sent: number;
  achievedFps: number;
  /** CPU of the generator's sending thread per million frames (softirq work it ran included). */
  senderCpuPerM: number | null;
  /** Frames each capture host's passive interface received (rx_packets), capture1 first. */
  wire: number[];
  /** Σ copies the mirror could not hand to a passive interface (tx_dropped of the mirror ports). */
  mirrorTxDropped: number;
  /** The whole machine's busy CPU seconds in the window (all CPUs). */
  machineBusyS: number;
  /** Of those, what processes outside the lab ran (others' work on the machine, and the benchmark's own polling). */
  othersCpuS: number;
  /** CPU seconds of each capturing process in the window. */
  processCpuS: Array<{ name: string; seconds: number }>;
  /** How busy the machine was (CPUs) just before the run, with nothing of the benchmark running. */
  backgroundCpus: number;
  capture?: CaptureLoss;
  /** dicap: Σ header-batch datagrams the agents sent. */
  datagramsSent?: number;
}

export interface LabBenchSettings {
  nodeCounts: readonly number[];
  rateLadder: readonly number[];
  maxRateShare: number;
  durationS: number;
  repeats: number;
  snaplen: number;
  tcpdumpBufferKiB: number;
  flows: number;
}

export interface LabBenchResult {
  settings: LabBenchSettings;
  tcpdumpVersion: string;
  perNodeCount: Array<{ nodes: number; calibratedMax: number; rates: Rate[]; runs: LabRun[] }>;
  /** The selection stages against tcpdump, 3 capture hosts at one rate (lab-selection-bench.ts). */
  selection?: { nodes: number; rate: number; workers: number; runs: LabRun[] };
  totalMinutes?: number;
}

// ---- numbers ------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "0.253 (0.248–0.262)": the median and, with several values, their range. */
function medianAndRange(values: readonly number[], digits = 3): string {
  return withRange(median, values, digits);
}

/** "0.248 (0.248–0.262)": the least value and the range. */
function bestAndRange(values: readonly number[], digits = 3): string {
  return withRange((v) => Math.min(...v), values, digits);
}

function withRange(
  pick: (values: readonly number[]) => number,
  values: readonly number[],
  digits: number,
): string {
  if (values.length === 0) return '–';
  const value = pick(values).toFixed(digits);
  if (values.length === 1) return value;
  return `${value} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
}

/** Frames per second in thousands: "1 221k". */
function kfps(n: number): string {
  return `${thousands(n / 1000)}k`;
}

/** Counts of the repeats: "0" when all are 0, else each repeat's count ("0 / 1 234 / 0"), the worst share of `of` added. */
function perRepeat(values: ReadonlyArray<number | null>, of: readonly number[]): string {
  if (values.some((v) => v === null)) return '–';
  const counts = values as number[];
  if (counts.every((v) => v === 0)) return '0';
  const worst = Math.max(...counts.map((v, i) => v / Math.max(1, of[i]!)));
  return `${counts.map(thousands).join(' / ')} (≤ ${(worst * 100).toFixed(2)} %)`;
}

/** Per million frames on capture1's passive interface. */
const perMillion = (seconds: number, run: LabRun): number => (seconds / run.wire[0]!) * 1e6;
/** The machine's busy time per million frames, without the processes outside the lab. */
const machinePerMillion = (run: LabRun): number => perMillion(run.machineBusyS - run.othersCpuS, run);
const minWire = (run: LabRun): number => Math.min(...run.wire);
const rateLabel = (rate: Rate): string => (rate === 'max' ? 'max' : kfps(rate));

function runsOf(runs: readonly LabRun[], rate: Rate, capturer: Capturer): LabRun[] {
  return runs.filter((r) => r.rate === rate && r.capturer === capturer).sort((a, b) => a.repeat - b.repeat);
}

function processCpu(run: LabRun, name: string): number {
  return run.processCpuS.filter((p) => p.name === name).reduce((a, p) => a + p.seconds, 0);
}

function totalProcessCpu(run: LabRun): number {
  return run.processCpuS.reduce((a, p) => a + p.seconds, 0);
}

/** Per repeat: machine busy per million frames of `runs` minus that of the generator alone in the same repeat. */
function machineExtra(runs: readonly LabRun[], alone: readonly LabRun[]): number[] {
  return runs.flatMap((r) => {
    const base = alone.find((a) => a.repeat === r.repeat);
    return base ? [machinePerMillion(r) - machinePerMillion(base)] : [];
  });
}

function ratio(a: number, b: number): string {
  return b > 0 && a >= 0 ? `${(a / b).toFixed(1)}×` : 'n/a';
}

// ---- tables --------------------------------------------------------------------------------

function backgroundSummary(result: LabBenchResult): string {
  const values = result.perNodeCount.flatMap((n) => n.runs.map((r) => r.backgroundCpus));
  return values.length
    ? `${median(values).toFixed(2)} CPUs, highest ${Math.max(...values).toFixed(2)}`
    : 'not measured';
}

function methods(result: LabBenchResult, cpuModel: string): string {
  const s = result.settings;
  return [
    `**Machine**: ${cpuModel}. Generator, mirror, capture hosts, analyzer and tcpdump all share these cores, and other people's work on the machine`,
    `was not stopped, so single runs are noisy: every point was run ${s.repeats} times, interleaved (per repeat: the generator alone and tcpdump at every`,
    'rate, then a fresh dicap cluster at every rate). Tables give the median (or, for machine CPU, the best) and the range in parentheses; loss columns',
    "give every repeat's count unless all are 0.",
    `**Traffic**: \`dicap gen\` (${s.flows} concurrent connections, 60–1514-byte frames, the same seed every run) from the source host, pinned to the`,
    `lab's wire CPU, through the lab's mirror (tc mirred, veth) to every capture host's passive interface; ${s.durationS} s per run (fixed rates: rate ×`,
    `${s.durationS} frames). Rates: ${s.rateLadder.map(kfps).join(', ')} where below ${Math.round(s.maxRateShare * 100)} % of what the generator alone reached in a calibration run, and max.`,
    `**Capturers**, pinned to the other core (a capture box has its own; on the wire CPU a busy capturer would slow the sender instead of losing`,
    `frames): dicap = an agent on every capture host (flow mode, snaplen ${s.snaplen}, 64 × 1 MiB TPACKET_V3 ring, one export worker) and one analyzer on`,
    `the analyzer host writing pcap to /dev/null; tcpdump = \`tcpdump -i <capture1's passive> -s ${s.snaplen} -w /dev/null -B ${s.tcpdumpBufferKiB}\``,
    `(${result.tcpdumpVersion}): one libpcap capture of the whole link, the other passive interfaces receive their copies unread.`,
    "**Window**: from the moment the generator's sending thread exists until the capturing processes' CPU has not moved for 0.3 s after the last",
    "frame (that quiet tail is in every run, the generator alone's too). A dicap cluster is measured from 12 s after its start: V8's",
    'memory reducer runs major GCs once, ~8 s after a Node process starts (~30 ms of CPU), which an agent running for days does not pay per frame.',
    '**Per-process CPU**: run time of all threads of the process (/proc/<pid>/task/*/schedstat in ns: what /proc/<pid>/stat gives in 10 ms ticks, too',
    'coarse for tcpdump), per million frames on the wire. Kernel work in softirq is charged to whichever task the CPU was running: the copy of every',
    'frame into a capture ring runs in the sender\'s softirq (the "sender thread" column grows with it), and the network path of dicap\'s export,',
    "down to the analyzer's socket, in the sending agent's.",
    '**Machine CPU**: busy time of all CPUs in the window (user+nice+system+irq+softirq, read from /proc/stat as window × CPUs − idle − iowait − steal:',
    'the busy fields are tick samples, and a paced sender asleep at almost every tick showed 0.06 s there for 0.96 s that its thread ran; idle is',
    "timed exactly), less what processes outside the lab's namespaces ran (other people's, and this benchmark's polling), per million frames.",
    '"+ dicap" / "+ tcpdump" subtract the generator alone at the same rate: what capturing costs the machine, kernel included. Other work only adds',
    'to busy time, so the best repeat is taken; before each run the benchmark also waits up to 2 s for a quiet quarter second (background load',
    `before a run: median ${backgroundSummary(result)}). Ratios are dicap / tcpdump, both measured in this run.`,
    "**Context**: DiCAP's paper (one node, 1 GbE, Pentium 4): libpcap lost 10 % at 232 kpps, 75 % at 380 kpps and 93 % at 620 kpps while DiCAP lost 0 %.",
    result.totalMinutes !== undefined ? `The benchmark took ${result.totalMinutes.toFixed(1)} minutes.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function generatorTable(result: LabBenchResult, cpuModel: string): ReportTable {
  const rows = result.perNodeCount.map(({ nodes, calibratedMax, rates, runs }) => {
    const alone = runsOf(runs, 'max', 'none');
    return [
      String(nodes),
      kfps(calibratedMax),
      medianAndRange(
        alone.map((r) => r.achievedFps / 1000),
        0,
      ),
      medianAndRange(alone.map((r) => r.senderCpuPerM ?? 0)),
      bestAndRange(alone.map(machinePerMillion)),
      perRepeat(
        alone.map((r) => r.sent - minWire(r)),
        alone.map((r) => r.sent),
      ),
      rates.map(rateLabel).join(', '),
    ];
  });
  return {
    title: 'Methods, and the generator alone at --rate max',
    note: methods(result, cpuModel),
    columns: [
      'capture hosts',
      'calibration run (frames/s)',
      'k frames/s in the runs',
      'sender thread CPU s per M frames (median)',
      'machine CPU s per M frames (best)',
      'lost in the mirror',
      'rates measured',
    ],
    rows,
  };
}

/** "1 082k (1 054k–1 307k)": the median achieved rate and, when the repeats differ by more than 1 %, their range. */
function achievedCell(runs: readonly LabRun[]): string {
  const rates = runs.map((r) => r.achievedFps);
  const [low, high] = [Math.min(...rates), Math.max(...rates)];
  return high - low > 0.01 * high
    ? `${kfps(median(rates))} (${kfps(low)}–${kfps(high)})`
    : kfps(median(rates));
}

function lossTable(result: LabBenchResult): ReportTable {
  const rows: string[][] = [];
  for (const { nodes, rates, runs } of result.perNodeCount) {
    for (const rate of rates) {
      for (const capturer of ['dicap', 'tcpdump'] as const) {
        const rs = runsOf(runs, rate, capturer);
        if (rs.length === 0) continue;
        const sent = rs.map((r) => r.sent);
        const loss = (field: keyof CaptureLoss): Array<number | null> =>
          rs.map((r) => r.capture?.[field] ?? null);
        rows.push([
          String(nodes),
          rateLabel(rate),
          capturer,
          achievedCell(rs),
          thousands(median(sent)),
          thousands(median(rs.map(minWire))),
          thousands(median(rs.map((r) => r.capture?.captured ?? 0))),
          `${perRepeat(
            rs.map((r) => r.sent - minWire(r)),
            sent,
          )}${rs.some((r) => r.mirrorTxDropped > 0) ? ` (mirror tx_dropped ${rs.map((r) => thousands(r.mirrorTxDropped)).join(' / ')})` : ''}`,
          perRepeat(loss('ring'), sent),
          perRepeat(loss('queue'), sent),
          perRepeat(loss('send'), sent),
          capturer === 'dicap'
            ? `${perRepeat(loss('exportRecords'), sent)}${rs.some((r) => (r.capture?.exportDatagrams ?? 0) > 0) ? ` (${rs.map((r) => r.capture?.exportDatagrams ?? 0).join(' / ')} datagrams)` : ''}`
            : '–',
          perRepeat(
            rs.map((r) => r.sent - (r.capture?.captured ?? 0)),
            sent,
          ),
        ]);
      }
    }
  }
  return {
    title: 'Frames and loss by layer',
    note:
      'Medians of the repeats (achieved: with the range where the repeats differ). sent: frames `dicap gen` put on the wire. on the wire: rx_packets of the passive interfaces (the fewest of any capture host). ' +
      'captured: dicap, header records the analyzer received (each frame once, from the node that owns it); tcpdump, its "packets captured". ' +
      "Loss columns, per repeat: wire/mirror = sent − on the wire (with the mirror ports' tx_dropped where not 0); ring = the capture sockets' tp_drops (dicap: Σ over the agents — every agent's ring sees every frame; " +
      'tcpdump: its "dropped by kernel"); worker queue = frames an agent could not queue for its export worker; send = records an agent could not send; ' +
      'export = records the agents exported that the analyzer did not receive (with the datagrams it counted missing); lost in all = sent − captured.',
    columns: [
      'capture hosts',
      'rate asked',
      'capture',
      'achieved frames/s',
      'sent',
      'on the wire',
      'captured',
      'lost: wire/mirror',
      'ring (tp_drops)',
      'worker queue',
      'send',
      'export to analyzer',
      'lost in all',
    ],
    rows,
  };
}

function cpuTable(result: LabBenchResult): ReportTable {
  const rows: string[][] = [];
  for (const { nodes, rates, runs } of result.perNodeCount) {
    for (const rate of rates) {
      const alone = runsOf(runs, rate, 'none');
      const tcpdump = runsOf(runs, rate, 'tcpdump');
      const dicap = runsOf(runs, rate, 'dicap');
      const agentNames = [
        ...new Set(
          dicap.flatMap((r) => r.processCpuS.map((p) => p.name)).filter((n) => n.startsWith('agent')),
        ),
      ];
      const agentMedians = agentNames.map((name) =>
        median(dicap.map((r) => perMillion(processCpu(r, name), r))),
      );
      const dicapTotal = dicap.map((r) => perMillion(totalProcessCpu(r), r));
      const tcpdumpCpu = tcpdump.map((r) => perMillion(processCpu(r, 'tcpdump'), r));
      const tcpdumpMedian = tcpdumpCpu.length ? median(tcpdumpCpu) : NaN;
      const busy = (rs: readonly LabRun[]): number[] => rs.map(machinePerMillion);
      const best = (values: number[]): number => (values.length ? Math.min(...values) : NaN);
      const extra = (rs: readonly LabRun[]): number => best(busy(rs)) - best(busy(alone));
      const extraCell = (rs: readonly LabRun[]): string => {
        const paired = machineExtra(rs, alone);
        return paired.length
          ? `${extra(rs).toFixed(3)} (${Math.min(...paired).toFixed(3)}–${Math.max(...paired).toFixed(3)})`
          : '–';
      };
      const recordsPerDatagram = dicap.flatMap((r) =>
        r.datagramsSent ? [(r.capture?.captured ?? 0) / r.datagramsSent] : [],
      );
      rows.push([
        String(nodes),
        rateLabel(rate),
        [alone, tcpdump, dicap]
          .map((rs) => (rs.length ? kfps(median(rs.map((r) => r.achievedFps))) : '–'))
          .join(' / '),
        [alone, tcpdump, dicap]
          .map((rs) => (rs.length ? median(rs.map((r) => r.senderCpuPerM ?? 0)).toFixed(3) : '–'))
          .join(' / '),
        agentMedians.map((v) => v.toFixed(3)).join(', ') || '–',
        medianAndRange(dicap.map((r) => perMillion(processCpu(r, 'analyzer'), r))),
        recordsPerDatagram.length ? median(recordsPerDatagram).toFixed(1) : '–',
        medianAndRange(dicapTotal),
        medianAndRange(tcpdumpCpu),
        ratio(dicapTotal.length ? median(dicapTotal) : NaN, tcpdumpMedian),
        ratio(agentMedians.length ? Math.max(...agentMedians) : NaN, tcpdumpMedian),
        bestAndRange(busy(alone)),
        extraCell(dicap),
        extraCell(tcpdump),
        ratio(extra(dicap), extra(tcpdump)),
      ]);
    }
  }
  return {
    title: 'CPU seconds per million frames',
    note:
      "Per million frames on the wire. achieved and sender thread (CPU of the generator's sending thread, which runs the mirror and the copies into the capture rings in its softirq): " +
      'generator alone / with tcpdump / with dicap, medians. Per process, median (range) of the repeats: each dicap agent (all its threads: capture, export worker, Node), ' +
      'the analyzer, their sum (dicap total) and tcpdump; records per datagram: header records in each export datagram (1472-byte payload). ' +
      'Machine: busy CPU of the whole machine; other work on the machine only adds to it, so the best (least) of the repeats is given, with the range. ' +
      '"+ dicap" and "+ tcpdump": best with the capturer minus best of the generator alone — what capturing costs the machine, kernel work included — and in parentheses ' +
      'the range of the same difference taken repeat by repeat. A ratio is n/a when its denominator is not above 0 (noise swamps it at low rates).',
    columns: [
      'capture hosts',
      'rate asked',
      'achieved frames/s',
      'sender thread',
      'dicap agents (each)',
      'dicap analyzer',
      'records per datagram',
      'dicap total',
      'tcpdump',
      'dicap total / tcpdump',
      'busiest agent / tcpdump',
      'machine: generator alone',
      'machine: + dicap',
      'machine: + tcpdump',
      'dicap / tcpdump (machine)',
    ],
    rows,
  };
}

/** The report's tables. `cpuModel` names the machine in the methods paragraph. */
export function labBenchTables(result: LabBenchResult, cpuModel: string): ReportTable[] {
  return [
    generatorTable(result, cpuModel),
    lossTable(result),
    cpuTable(result),
    ...(result.selection ? [selectionTable(result.selection)] : []),
  ];
}

/** The selection section alone (`npm run bench -- lab-selection`). */
export function labSelectionTables(selection: NonNullable<LabBenchResult['selection']>): ReportTable[] {
  return [selectionTable(selection)];
}

const SELECTION_CAPTURERS: readonly Capturer[] = [
  'tcpdump',
  'tcpdump-share',
  'tcpdump-share-export',
  'dicap-user',
  'dicap-socket',
  'dicap-xdp',
  'dicap-socket-flow',
];

/**
 * The busiest capture host of a run, CPU s per million wire frames: its capturing processes
 * added up (a tcpdump and the socat exporting its output; one agent). Process names end
 * with their host or node. The analyzer is left out: it is not on a capture host.
 */
function busiestCapturer(run: LabRun): number {
  const byHost = new Map<string, number>();
  for (const p of run.processCpuS) {
    if (p.name === 'analyzer') continue;
    const host = p.name.split(' ').at(-1)!;
    byHost.set(host, (byHost.get(host) ?? 0) + p.seconds);
  }
  return Math.max(...[...byHost.values()].map((seconds) => perMillion(seconds, run)));
}

function selectionTable(selection: NonNullable<LabBenchResult['selection']>): ReportTable {
  const { nodes, rate, runs, workers } = selection;
  const alone = runsOf(runs, rate, 'none');
  const busiest = (c: Capturer): number => {
    const rs = runsOf(runs, rate, c);
    return rs.length ? median(rs.map(busiestCapturer)) : NaN;
  };
  const whole = busiest('tcpdump');
  const share = busiest('tcpdump-share');
  const shareExport = busiest('tcpdump-share-export');
  const rows = SELECTION_CAPTURERS.map((c) => {
    const rs = runsOf(runs, rate, c);
    if (rs.length === 0) return [c, '–', '–', '–', '–', '–', '–', '–'];
    const b = busiest(c);
    const extra = machineExtra(rs, alone);
    return [
      c,
      b.toFixed(3),
      (b / whole).toFixed(2),
      (b / share).toFixed(2),
      Number.isNaN(shareExport) ? '–' : (b / shareExport).toFixed(2),
      rs.some((r) => r.processCpuS.some((p) => p.name === 'analyzer'))
        ? median(rs.map((r) => perMillion(processCpu(r, 'analyzer'), r))).toFixed(3)
        : '–',
      extra.length ? median(extra).toFixed(3) : '–',
      perRepeat(
        rs.map((r) => (r.capture ? r.capture.ring + (r.capture.queue ?? 0) + (r.capture.send ?? 0) : null)),
        rs.map((r) => r.sent),
      ),
    ];
  });
  return {
    title: `Selection stages against tcpdump (${nodes} capture hosts, ${kfps(rate)} frames/s)`,
    note:
      `CPU seconds per million wire frames, median of ${Math.max(...runs.map((r) => r.repeat))} repeats. ` +
      'Busiest: the busiest capture host, its capturing processes added up (one agent: all its threads; one tcpdump, with the socat sending its output). ' +
      'tcpdump: on capture1, the whole link. tcpdump-share: on every host with `ip[4:2] % N = P`, the kernel share filter an admin would use instead of dicap (it exports nothing). ' +
      'tcpdump-share-export: the same, with `tcpdump -w - | socat - UDP4-SENDTO:analyzer` sending its pcap stream to the analyzer host as dicap does (a socat there receives it: the analyzer column). ' +
      `dicap-STAGE: agents in ipid mode with --selection STAGE and --workers ${workers}${workers === 0 ? ' (each capture thread exports what it owns itself)' : ''}, exporting to one analyzer, measured from 12 s after the cluster started (past the GC that V8 runs once after a Node process starts); ` +
      "dicap-socket-flow: the same in flow mode, which splits the generator's connections evenly where ipid mode gives the node that owns IPv4 ID 0 (the generator's DF frames, as many stacks send them) the largest share. " +
      "Kernel filters (XDP, socket filters, tcpdump's filter) run in the wire CPU's softirq, not in the capturing process: " +
      'the machine column (busy CPU of the whole machine minus the generator alone, same repeat) includes them.',
    columns: [
      'capturer',
      'busiest host s/M',
      '÷ tcpdump whole link',
      '÷ tcpdump share filter',
      '÷ share filter + export',
      'analyzer s/M',
      'machine s/M over generator',
      'lost (ring+queue+send)',
    ],
    rows,
  };
}
