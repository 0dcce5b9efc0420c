// The one-screen summary of `dicap lab demo`: a pure function of the counters, so it is
// tested without a lab. Fits an 80×24 terminal with up to 8 capture nodes.
import type { AgentSummary, AnalyzerSummary } from './cluster.js';
import type { CoverageReport } from './coverage.js';

export const SCREEN_WIDTH = 80;

export interface DemoScreenState {
  labId: string;
  mode: string;
  /** Frames per second asked of the generator. */
  rate: number;
  elapsedS: number;
  /** Frames that entered the wire from the generator since the cluster started. */
  wireFrames: number;
  /** Frames per second entering the wire over the last refresh. */
  wireRate: number;
  /** Frames each capture host's passive interface received since the cluster started. */
  passiveFrames: readonly number[];
  hosts: readonly string[];
  nodeIds: readonly number[];
  /** Live counters, undefined until a process has written them. */
  agents: ReadonlyArray<AgentSummary | undefined>;
  analyzers: ReadonlyArray<AnalyzerSummary | undefined>;
  analyzerHosts: readonly string[];
  /** After Ctrl-C: the final verdict, once the cluster has stopped. */
  final?: CoverageReport;
  /** A line about what is happening (stopping, …), shown at the bottom. */
  note?: string;
}

/** 1234567 → "1,234,567" */
export function thousands(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

const right = (text: string, width: number): string => text.padStart(width);

/** The node table's columns: ID, host, then right-aligned counts, then the drops. 80 wide with the header. */
function row(
  id: string,
  host: string,
  seen: string,
  owned: string,
  share: string,
  exported: string,
  drops: string,
): string {
  return `${right(id, 4)}  ${host.padEnd(9)}${right(seen, 12)}${right(owned, 12)}${right(share, 7)}${right(exported, 12)} ${drops}`;
}

function nodeRow(id: number, host: string, a: AgentSummary | undefined): string {
  if (!a) return `${right(String(id), 4)}  ${host.padEnd(9)} (starting)`;
  const drops = `${thousands(a.socketDrops)}/${thousands(a.queueFullDrops)}/${thousands(a.recordsSendFailed + a.recordsNoAnalyzer)}`;
  return row(
    String(id),
    host,
    thousands(a.seen),
    thousands(a.owned),
    percent(a.owned, a.seen),
    thousands(a.recordsExported),
    drops,
  );
}

function coverageLines(s: DemoScreenState): string[] {
  if (s.final) {
    const f = s.final;
    return f.exactlyOnce
      ? [
          `coverage  final: Σ owned ${thousands(f.ownedSum)} = seen ${thousands(f.seen ?? 0)}: every frame exactly once`,
        ]
      : [
          'coverage  final: NOT exactly once:',
          ...f.problems.slice(0, 3).map((p) => `  ${p}`.slice(0, SCREEN_WIDTH)),
        ];
  }
  const agents = s.agents.filter((a): a is AgentSummary => a !== undefined);
  if (agents.length < s.nodeIds.length) return ['coverage  (waiting for every node)'];
  const seen = agents.map((a) => a.seen);
  const owned = agents.reduce((n, a) => n + a.owned, 0);
  const low = Math.min(...seen);
  const high = Math.max(...seen);
  const seenText = low === high ? thousands(low) : `${thousands(low)}..${thousands(high)}`;
  return [
    `coverage  Σ owned ${thousands(owned)} of seen ${seenText} (${percent(owned, high)})`,
    '          live: the nodes are read a moment apart; exact after Ctrl-C',
  ];
}

function analyzerLine(host: string, a: AnalyzerSummary | undefined): string {
  if (!a) return `${host.padEnd(10)}(starting)`;
  const lost = a.nodes.reduce((n, node) => n + node.lostDatagrams, 0);
  return `${host.padEnd(10)}received ${thousands(a.records)} records, export loss ${thousands(lost)} datagrams, socket drops ${thousands(a.socketDrops)}`;
}

/** The screen's lines, none longer than SCREEN_WIDTH. */
export function formatDemoScreen(s: DemoScreenState): string[] {
  const low = s.passiveFrames.length > 0 ? Math.min(...s.passiveFrames) : 0;
  const high = s.passiveFrames.length > 0 ? Math.max(...s.passiveFrames) : 0;
  const passive =
    low === high
      ? `${thousands(low)} on every passive NIC`
      : `${thousands(low)}..${thousands(high)} on the passive NICs`;
  const title = `dicap lab demo · lab ${s.labId} · ${s.nodeIds.length} capture nodes · ${s.mode} · ${thousands(s.rate)}/s`;
  const lines = [
    `${title}${right(clock(s.elapsedS), SCREEN_WIDTH - title.length)}`,
    'traffic: dicap gen on source → wire → mirror → every capture node',
    '',
    `wire      ${thousands(s.wireFrames)} frames sent, ${passive}`,
    `          ${thousands(s.wireRate)} frames/s now`,
    '',
    row('node', 'host', 'seen', 'owned', 'share', 'exported', 'drops ring/queue/send'),
    ...s.nodeIds.map((id, i) => nodeRow(id, s.hosts[i]!, s.agents[i])),
    '',
    ...coverageLines(s),
    ...s.analyzerHosts.map((h, i) => analyzerLine(h, s.analyzers[i])),
    '',
    s.note ?? 'Ctrl-C stops the traffic, the cluster and the lab (nothing is left behind).',
  ];
  return lines.map((line) => (line.length > SCREEN_WIDTH ? line.slice(0, SCREEN_WIDTH) : line));
}
