// The one-screen summary of `dicap lab demo`: a pure function of the counters, the
// coordinators' /status and /ledger, so it is tested without a lab. Fits an 80×24 terminal
// with up to 8 capture nodes.
import type { CoordinatorRole } from '../coordinator/election.js';
import type { EpochCoverage } from '../coordinator/coverage-ledger.js';
import type { AgentSummary, AnalyzerSummary } from './cluster.js';

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
  /** Every coordinator, by ID: its role from /status, or down (killed, or not answering). */
  coordinators: ReadonlyArray<DemoCoordinator>;
  /** The active coordinator's /ledger, newest epoch first (empty while none is active). */
  ledger: readonly EpochCoverage[];
  /** The active coordinator's newest event, one line. */
  lastEvent?: string;
  /** Where this machine's browser opens the active coordinator's dashboard. */
  dashboardUrl?: string;
  /** After the stop: the ledger's verdict is final. */
  final?: boolean;
  /** A line about what is happening (a key's effect, stopping, …), shown at the bottom. */
  note?: string;
}

export interface DemoCoordinator {
  id: number;
  role: CoordinatorRole | 'down';
  term?: number;
  epoch?: number;
}

/** What the keys do, the bottom line while the demo runs. */
export const DEMO_KEYS = 'keys  n kill/restart a node · c kill the active coordinator · r restart · q quit';

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

function coverageLine(s: DemoScreenState): string {
  const agents = s.agents.filter((a): a is AgentSummary => a !== undefined);
  if (agents.length < s.nodeIds.length) return 'coverage  (waiting for every node)';
  const seen = agents.map((a) => a.seen);
  const owned = agents.reduce((n, a) => n + a.owned, 0);
  const low = Math.min(...seen);
  const high = Math.max(...seen);
  const seenText = low === high ? thousands(low) : `${thousands(low)}..${thousands(high)}`;
  return `coverage  Σ owned ${thousands(owned)} of seen ${seenText} (${percent(owned, high)})`;
}

function coordinatorsLine(s: DemoScreenState): string {
  const one = (c: DemoCoordinator): string =>
    c.role === 'active' ? `${c.id} active (term ${c.term}, epoch ${c.epoch})` : `${c.id} ${c.role}`;
  return `coordinators  ${s.coordinators.map(one).join(' · ')}`;
}

/** The ledger's verdicts so far: how many judged epochs were exactly once, and the newest anomaly. */
export function ledgerLine(ledger: readonly EpochCoverage[], final = false): string {
  const judged = ledger.filter((e) => e.status !== 'open');
  if (judged.length === 0) return `ledger    ${final ? 'final: ' : ''}no epoch judged yet`;
  const anomalies = judged.filter((e) => e.status === 'anomaly');
  const newest = anomalies[0];
  return `ledger    ${final ? 'final: ' : ''}${judged.length} epochs judged, ${judged.length - anomalies.length} exactly once${
    newest
      ? `, ${anomalies.length} anomal${anomalies.length === 1 ? 'y' : 'ies'} (epoch ${newest.epoch}: ${newest.anomaly})`
      : ''
  }`;
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
    `wire      ${thousands(s.wireFrames)} frames sent, ${passive}`,
    `          ${thousands(s.wireRate)} frames/s now (dicap gen → mirror → every capture node)`,
    '',
    row('node', 'host', 'seen', 'owned', 'share', 'exported', 'drops ring/queue/send'),
    ...s.nodeIds.map((id, i) => nodeRow(id, s.hosts[i]!, s.agents[i])),
    coverageLine(s),
    ...s.analyzerHosts.map((h, i) => analyzerLine(h, s.analyzers[i])),
    '',
    coordinatorsLine(s),
    ledgerLine(s.ledger, s.final),
    `event     ${s.lastEvent ?? '-'}`,
    '',
    s.dashboardUrl
      ? `dashboard ${s.dashboardUrl} (the active coordinator's, in your browser)`
      : 'dashboard (starting)',
    s.note ?? DEMO_KEYS,
  ];
  return lines.map((line) => (line.length > SCREEN_WIDTH ? line.slice(0, SCREEN_WIDTH) : line));
}
