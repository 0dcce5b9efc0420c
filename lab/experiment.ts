// `dicap lab replay --out DIR FILE…`: a whole experiment on its own. It builds a fresh lab,
// starts a cluster, (round-robin) synchronises the nodes with an in-band frame, replays
// the files, waits until every frame on the wire has reached the agents, stops the
// cluster, takes the lab down, and writes DIR/<analyzer host>.pcap and DIR/summary.json:
// what was sent, what each layer counted, and the verdict — exactly-once coverage, or
// where the counts part.
import fs from 'node:fs';
import path from 'node:path';
import { DicapError } from '../common/errors.js';
import type { SelectionModeName } from '../native/engine.js';
import { startCluster, type Cluster } from './cluster.js';
import { coverageReport, type CoverageReport } from './coverage.js';
import { FrameMultiset, type MultisetDifference } from './frame-multiset.js';
import type { TopologyUpdateFields } from '../protocol/index.js';
import type { SelectionChoice } from '../node-agent/selection-stage.js';
import { adoptInbandTopology, INBAND_SYNC_FRAMES, LAB_COORDINATOR_TERM, type Injected } from './inband.js';
import { startTcpdumpFile } from './tcpdump-file.js';
import { labUp, type Lab, type PassiveCounters } from './lab.js';
import type { RefusedFrame, ReplayOptions, ReplayResult } from './replay.js';
import { passiveDelta } from './report.js';
import { listLabIds } from './state.js';
import { LAB_ID_PATTERN } from './topology.js';

/** Above this many frames the output is not compared frame by frame (the counters still are). */
export const MAX_COMPARED_FRAMES = 5_000_000;

export interface ReplayExperimentOptions {
  files: readonly string[];
  /** Capture hosts (and agents). */
  nodes: number;
  mode: SelectionModeName;
  /** Directory for the analyzers' pcap files and summary.json (created if missing). */
  out: string;
  snaplen: number;
  workers: number;
  key: readonly [number, number];
  replay: Pick<ReplayOptions, 'pps' | 'mbps' | 'topspeed' | 'loop' | 'pinToWireCpu'>;
  /** Where the agents drop another node's frames (`dicap agent --selection`); default the agent's (auto). */
  selection?: SelectionChoice;
  /**
   * Distribution mode (`dicap agent --distribute`): each capture host also runs tcpdump on
   * its passive interface into DIR/local-<node id>.pcap, and the union of those files must
   * be the wire, every frame once and whole.
   */
  distribute?: boolean;
  /**
   * Halfway through the replay, bring a new topology into force with in-band frames (epoch
   * 3, the hash key words reversed, so owners move): coverage must stay exactly once.
   */
  changeTopology?: boolean;
  /** Lab id; default a fresh one (r…), so that no lab in use is touched. */
  id?: string;
  onProgress?: (line: string) => void;
}

export interface ContentCheck {
  /** Frames expected in the output: every frame tcpreplay sent (refused ones left out). */
  expected: number;
  /** Frames in the analyzers' pcap files. */
  written: number;
  difference: MultisetDifference;
}

export interface ReplayExperimentSummary {
  lab: { id: string; captureHosts: number; analyzers: number };
  mode: SelectionModeName;
  snaplen: number;
  workers: number;
  key: string[];
  files: string[];
  /** What tcpreplay reported (refused frames with file and frame number). */
  replay: Omit<ReplayResult, 'interface' | 'files'> & { loop: number };
  /** The in-band frame that synchronised the round-robin counters, or null. */
  inband: { term: number; epoch: number; bytes: number } | null;
  /** What each capture host's passive interface received during the run. */
  wire: Array<
    Pick<PassiveCounters, 'host' | 'interface' | 'rxPackets' | 'rxBytes' | 'rxDropped' | 'mirrorTxDropped'>
  >;
  coverage: CoverageReport;
  /** The analyzers' output compared frame by frame with what was sent (first snaplen bytes), or why not. */
  content: ContentCheck | { skipped: string };
  /** Passive interfaces ("host interface") that kept an XDP program after their agent stopped. */
  leftovers: string[];
  /** --distribute: the union of the capture hosts' local tcpdump files against what was sent, whole frames. */
  local: (ContentCheck & { files: string[] }) | { skipped: string } | null;
  outputs: string[];
  exactlyOnce: boolean;
  problems: string[];
}

/** A lab id that no lab on this machine has: r + up to 3 base-36 digits. */
export function freshLabId(taken: readonly string[] = listLabIds()): string {
  for (let n = process.pid % 46656; ; n = (n + 1) % 46656) {
    const id = `r${n.toString(36)}`;
    if (!taken.includes(id) && LAB_ID_PATTERN.test(id)) return id;
  }
}

/** Every frame tcpreplay sent, as a multiset: the files' frames in order, loop times, without the refused ones. */
function sentFrames(
  files: readonly string[],
  loop: number,
  refused: readonly RefusedFrame[],
  snaplen: number,
  readFrames: (file: string) => Buffer[],
): FrameMultiset {
  const perFile = files.map(readFrames);
  const perLoop = perFile.reduce((n, frames) => n + frames.length, 0);
  const refusedIndex = new Set(refused.map((r) => r.index));
  const sent = new FrameMultiset(snaplen);
  for (let round = 0; round < loop; round++) {
    let index = round * perLoop;
    for (const frames of perFile) {
      for (const frame of frames) if (!refusedIndex.has(++index)) sent.add(frame);
    }
  }
  return sent;
}

async function checkContent(
  options: ReplayExperimentOptions,
  replay: ReplayResult,
  outputs: readonly string[],
  keep: (frame: Buffer) => boolean = () => true,
): Promise<ContentCheck | { skipped: string }> {
  const loop = options.replay.loop ?? 1;
  if (replay.attempted > MAX_COMPARED_FRAMES)
    return {
      skipped: `${replay.attempted} frames are more than the ${MAX_COMPARED_FRAMES} compared frame by frame`,
    };
  const { readCaptureFile } = await import('../native/capture-file.js');
  const readFrames = (file: string): Buffer[] => readCaptureFile(file).frames.map((f) => f.data);
  const expected = sentFrames(options.files, loop, replay.refused, options.snaplen, readFrames);
  if (expected.size !== replay.sent) {
    return {
      skipped: `the files hold ${expected.size + replay.failed} frames as dicap reads them, tcpreplay attempted ${replay.attempted}; cannot tell which frames were sent`,
    };
  }
  const written = new FrameMultiset(options.snaplen);
  for (const file of outputs) for (const frame of readFrames(file)) if (keep(frame)) written.add(frame);
  return { expected: expected.size, written: written.size, difference: expected.compare(written) };
}

/**
 * --distribute: the union of what tcpdump captured on every capture host against what was
 * sent, whole frames. In-band frames (EtherType 0x88B5) reach every host by design (§6.10)
 * and are left out.
 */
async function checkLocal(
  options: ReplayExperimentOptions,
  replay: ReplayResult,
  files: readonly string[],
): Promise<(ContentCheck & { files: string[] }) | { skipped: string }> {
  const checked = await checkContent(
    { ...options, snaplen: WHOLE_FRAME },
    replay,
    files,
    (f) => !isInband(f),
  );
  return 'difference' in checked ? { ...checked, files: [...files] } : checked;
}

/** Longer than any frame: FrameMultiset compares whole frames. */
const WHOLE_FRAME = 262_144;

function isInband(frame: Buffer): boolean {
  return frame.length >= 14 && frame.readUInt16BE(12) === 0x88b5;
}

async function captureReplay(lab: Lab, options: ReplayExperimentOptions, say: (line: string) => void) {
  const cluster: Cluster = await startCluster(lab, {
    mode: options.mode,
    key: options.key,
    snaplen: options.snaplen,
    workers: options.workers,
    pcapDirectory: options.out,
    agentArgs: [
      ...(options.selection ? ['--selection', options.selection] : []),
      ...(options.distribute ? ['--distribute'] : []),
    ],
    onProgress: say,
  });
  const local = options.distribute
    ? await Promise.all(
        cluster.agents.map((a) =>
          startTcpdumpFile(lab, a.host, path.join(options.out, `local-${a.nodeId}.pcap`)),
        ),
      )
    : [];
  try {
    const before = await lab.passiveCounters();
    let inband: Injected | undefined;
    if (options.mode === 'round-robin') {
      inband = await adoptInbandTopology(lab, cluster);
      say(
        `lab ${lab.id}: every agent reset its round-robin counter at the in-band frame of epoch ${inband.topology.epoch}`,
      );
    }
    let changed: Promise<Injected> | undefined;
    const total = await framesToSend(options);
    const replay = await lab.replay(options.files, {
      ...options.replay,
      onProgress: (p) => {
        const seen = cluster.counters().agents.map((a) => a?.seen ?? 0);
        say(
          `replay: ${p.sent} frames sent in ${p.seconds.toFixed(1)} s (${Math.round(p.seconds > 0 ? p.sent / p.seconds : 0)} frames/s); seen by the nodes ${seen.join(' / ')}`,
        );
        if (options.changeTopology && !changed && p.sent >= total / 2) {
          changed = adoptInbandTopology(lab, cluster, { topology: changedTopology(cluster) });
          void changed.then(
            (t) => say(`lab ${lab.id}: every agent switched to epoch ${t.topology.epoch} mid-traffic`),
            () => {},
          );
        }
      },
    });
    if (options.changeTopology && !changed)
      throw new DicapError(
        'DICAP_ERR_LAB_REPLAY',
        'the replay ended before its midpoint was reported; give more frames (--loop) or a lower --pps to change the topology mid-traffic',
      );
    const change = changed ? await changed : undefined;
    const wire = passiveDelta(before, await lab.settledPassiveCounters());
    const complete = await cluster.waitForCapture(wire.map((w) => w.rxPackets));
    if (!complete)
      say(
        `lab ${lab.id}: not every frame on the wire reached the agents; the summary says where they stopped`,
      );
    const final = await cluster.stop();
    const leftovers = await xdpLeftovers(lab, cluster);
    const localFiles = [];
    for (const dump of local) localFiles.push((await dump.stop()).file);
    return { cluster, replay, wire, inband, change, final, localFiles, leftovers };
  } finally {
    await cluster.stop().catch(() => {});
    for (const dump of local) await dump.stop().catch(() => {});
  }
}

/** Passive interfaces that still carry an XDP program after every agent stopped (each must detach its own). */
async function xdpLeftovers(lab: Lab, cluster: Cluster): Promise<string[]> {
  const left: string[] = [];
  for (const a of cluster.agents) {
    const link = await lab.exec(a.host, ['ip', '-d', 'link', 'show', 'dev', a.interface]);
    if (/\bxdp/.test(link)) left.push(`${a.host} ${a.interface}`);
  }
  return left;
}

/** Frames the replay sends: the files' frames times the loop. */
async function framesToSend(options: ReplayExperimentOptions): Promise<number> {
  const { readCaptureFile } = await import('../native/capture-file.js');
  const perLoop = options.files.reduce((n, f) => n + readCaptureFile(f).frames.length, 0);
  return perLoop * (options.replay.loop ?? 1);
}

/** The cluster's topology at epoch 3 with the hash key words swapped: most owners move. */
function changedTopology(cluster: Cluster): TopologyUpdateFields {
  const t = cluster.staticTopology;
  return { ...t, term: LAB_COORDINATOR_TERM, epoch: 3, k0: t.k1, k1: t.k0, validityStartMs: Date.now() };
}

/** Runs the experiment (see the file comment) and resolves with what it wrote to DIR/summary.json. */
export async function runReplayExperiment(
  options: ReplayExperimentOptions,
): Promise<ReplayExperimentSummary> {
  const say = options.onProgress ?? ((): void => {});
  if (options.files.length === 0)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      'no capture file given; usage: dicap lab replay --out DIR FILE…',
    );
  try {
    fs.mkdirSync(options.out, { recursive: true });
    fs.accessSync(options.out, fs.constants.W_OK);
  } catch (error) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `--out ${options.out} is not a writable directory (${(error as NodeJS.ErrnoException).code ?? 'error'}); give a directory you can write to`,
    );
  }
  const out = path.resolve(options.out);
  const lab = await labUp({
    id: options.id ?? freshLabId(),
    captureHosts: options.nodes,
    analyzers: 1,
    coordinators: 1,
    onProgress: say,
  });
  let run: Awaited<ReturnType<typeof captureReplay>>;
  try {
    run = await captureReplay(lab, { ...options, out }, say);
  } finally {
    await lab.down();
  }
  const { cluster, replay, wire, inband, change, final, localFiles, leftovers } = run;
  const loop = options.replay.loop ?? 1;
  const coverage = coverageReport({
    hosts: cluster.agents.map((a) => a.host),
    wireFrames: wire.map((w) => w.rxPackets),
    agents: final.agents,
    analyzers: final.analyzers,
    trafficSent: replay.sent,
    controlFramesSent: (inband ? INBAND_SYNC_FRAMES : 0) + (change ? INBAND_SYNC_FRAMES : 0),
  });
  const outputs = cluster.analyzers.map((a) => a.pcapFile!);
  const content = await checkContent({ ...options, out }, replay, outputs);
  const local = options.distribute ? await checkLocal({ ...options, out }, replay, localFiles) : null;
  const problems = [
    ...coverage.problems,
    ...leftovers.map((l) => `an XDP program was left on ${l} after its agent stopped`),
  ];
  if (local && 'difference' in local && (local.difference.missing > 0 || local.difference.extra > 0)) {
    problems.push(
      `the capture hosts' local files (tcpdump) lack ${local.difference.missing} of the ${local.expected} frames sent and have ${local.difference.extra} frames too many`,
    );
  }
  if ('difference' in content && (content.difference.missing > 0 || content.difference.extra > 0)) {
    problems.push(
      `the analyzers' output lacks ${content.difference.missing} of the ${content.expected} frames sent and has ${content.difference.extra} frames too many`,
    );
  }
  const summary: ReplayExperimentSummary = {
    lab: { id: lab.id, captureHosts: options.nodes, analyzers: cluster.analyzers.length },
    mode: options.mode,
    snaplen: options.snaplen,
    workers: options.workers,
    key: options.key.map((k) => `0x${k.toString(16)}`),
    files: options.files.map((f) => path.resolve(f)),
    replay: {
      attempted: replay.attempted,
      sent: replay.sent,
      failed: replay.failed,
      truncated: replay.truncated,
      retried: replay.retried,
      bytes: replay.bytes,
      seconds: replay.seconds,
      pps: replay.pps,
      refused: replay.refused,
      warnings: replay.warnings,
      loop,
    },
    inband: inband
      ? { term: inband.topology.term, epoch: inband.topology.epoch, bytes: inband.frame.length }
      : null,
    wire: wire.map(({ host, interface: iface, rxPackets, rxBytes, rxDropped, mirrorTxDropped }) => ({
      host,
      interface: iface,
      rxPackets,
      rxBytes,
      rxDropped,
      mirrorTxDropped,
    })),
    coverage,
    content,
    local,
    leftovers,
    outputs,
    exactlyOnce: problems.length === 0,
    problems,
  };
  fs.writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** The experiment's outcome for a terminal, a dozen lines. */
export function formatExperiment(s: ReplayExperimentSummary, out: string): string[] {
  const r = s.replay;
  const lines = [
    `lab ${s.lab.id}: ${s.lab.captureHosts} capture nodes, ${s.mode}, snaplen ${s.snaplen}, ${s.workers} worker${s.workers === 1 ? '' : 's'} per agent`,
    `replay: sent ${r.sent} of ${r.attempted} frames${r.failed > 0 ? ` (${r.failed} refused by the kernel)` : ''} in ${r.seconds.toFixed(2)} s, ${Math.round(r.pps)} frames/s`,
    `wire: ${s.wire.map((w) => `${w.host} ${w.rxPackets}`).join(', ')} frames${s.inband ? ` (${INBAND_SYNC_FRAMES} of them the in-band frames of epoch ${s.inband.epoch}: announced, then switched)` : ''}`,
  ];
  for (const n of s.coverage.nodes) {
    const d = n.dropped;
    lines.push(
      `  node ${n.nodeId} (${n.host}): seen ${n.seen} owned ${n.owned} exported ${n.exported} ` +
        `drops ring ${d.ring} queue ${d.queue} send ${d.send} no-analyzer ${d.noAnalyzer}${n.inbandRejected > 0 ? ` in-band rejected ${n.inbandRejected}` : ''}`,
    );
  }
  lines.push(
    `analyzers: received ${s.coverage.received} records, wrote ${s.coverage.written}, export loss ${s.coverage.exportLossDatagrams} datagrams`,
  );
  const compared =
    'difference' in s.content
      ? `the output holds ${s.content.written} frames for ${s.content.expected} sent (missing ${s.content.difference.missing}, extra ${s.content.difference.extra}; first ${s.snaplen} bytes compared)`
      : `output not compared frame by frame: ${s.content.skipped}`;
  lines.push(`  ${compared}`);
  if (s.local)
    lines.push(
      'difference' in s.local
        ? `  local tcpdump files (--distribute): ${s.local.written} frames for ${s.local.expected} sent (missing ${s.local.difference.missing}, extra ${s.local.difference.extra}; whole frames compared)`
        : `  local tcpdump files not compared: ${s.local.skipped}`,
    );
  if (s.exactlyOnce)
    lines.push(
      `coverage: exactly once — Σ owned ${s.coverage.ownedSum} = seen ${s.coverage.seen}, every frame sent is in the output once`,
    );
  else lines.push('coverage: NOT exactly once:', ...s.problems.map((p) => `  ${p}`));
  lines.push(`wrote ${[...s.outputs, path.join(out, 'summary.json')].join(', ')}`);
  return lines;
}
