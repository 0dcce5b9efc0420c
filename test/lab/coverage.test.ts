// The lab's coverage verdict, frame multisets, in-band frames and the demo screen, from
// counters and bytes alone (no privileges, no lab).
import { describe, expect, it } from 'vitest';
import type { AgentSummary, AnalyzerSummary } from '../../lab/cluster.js';
import { coverageReport, type CoverageInput } from '../../lab/coverage.js';
import type { EpochCoverage } from '../../coordinator/coverage-ledger.js';
import {
  DEMO_KEYS,
  formatDemoScreen,
  thousands,
  SCREEN_WIDTH,
  type DemoScreenState,
} from '../../lab/demo-screen.js';
import { FrameMultiset } from '../../lab/frame-multiset.js';
import { forgedKey, inbandTopologyFrame, parseMac } from '../../lab/inband.js';
import { MALFORMED_REASONS } from '../../native/analyzer-sink.js';
import { readInbandTopologyUpdate, type TopologyUpdateFields } from '../../protocol/index.js';
import { TOPOLOGY_UPDATE_FIELDS } from '../protocol/vectors.js';

function agent(nodeId: number, position: number, counts: Partial<AgentSummary>): AgentSummary {
  const seen = counts.seen ?? 900;
  return {
    nodeId,
    final: true,
    frames: seen,
    bytes: 0,
    socketPackets: seen,
    socketDrops: 0,
    socketFreezes: 0,
    socketRollovers: 0,
    filtered: 0,
    controlFrames: 0,
    inbandRejected: 0,
    unassigned: 0,
    seen,
    owned: 300,
    notOwned: seen - 300,
    queued: 300,
    queueFullDrops: 0,
    recordsExported: 300,
    datagramsSent: 11,
    bytesSent: 0,
    sendErrors: 0,
    recordsSendFailed: 0,
    recordsNoAnalyzer: 0,
    gsoWrites: 0,
    gsoFallbacks: 0,
    lastSendErrno: 0,
    captureThreads: [],
    workers: [],
    epochs: [],
    position,
    epoch: 1,
    hasTopology: true,
    kernelNotOwned: 0,
    kernelUndecided: 0,
    sourceErrors: 0,
    selectionStage: 'user',
    ...counts,
  };
}

function analyzer(
  perNode: Record<number, number>,
  extra: Partial<AnalyzerSummary> = {},
  lost = 0,
): AnalyzerSummary {
  const nodes = Object.entries(perNode).map(([id, records]) => ({
    nodeId: Number(id),
    lastEpoch: 1,
    streams: 1,
    datagrams: 11,
    records,
    gapDatagrams: lost,
    lateDatagrams: 0,
    lostDatagrams: lost,
    duplicateDatagrams: 0,
    duplicateRecords: 0,
    runs: 1,
  }));
  const records = nodes.reduce((n, x) => n + x.records, 0);
  return {
    final: true,
    datagrams: 33,
    bytes: 0,
    records,
    malformed: Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as AnalyzerSummary['malformed'],
    socketDrops: 0,
    recordsWritten: records,
    recordsUnwritten: 0,
    bytesWritten: 0,
    writeErrors: 0,
    outputState: 'closed',
    outputError: null,
    receiveBufferBytes: 0,
    nodes,
    ...extra,
  } as AnalyzerSummary;
}

const HOSTS = ['capture1', 'capture2', 'capture3'];
/** A cluster where every layer agrees; each test changes one agent or count of it. */
const healthy = (): CoverageInput & { agents: AgentSummary[] } => ({
  hosts: HOSTS,
  wireFrames: [900, 900, 900],
  agents: [agent(11, 0, {}), agent(12, 1, {}), agent(13, 2, {})],
  analyzers: [analyzer({ 11: 300, 12: 300, 13: 300 })],
  trafficSent: 900,
});

describe('coverage verdict', () => {
  it('is exactly once when every layer agrees', () => {
    const report = coverageReport(healthy());
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      exactlyOnce: true,
      seen: 900,
      ownedSum: 900,
      exportedSum: 900,
      received: 900,
      written: 900,
      exportLossDatagrams: 0,
    });
  });

  it('counts the in-band control frame on the wire but not as traffic', () => {
    const input = healthy();
    input.wireFrames = [901, 901, 901];
    input.agents = input.agents.map((a) => ({ ...a, frames: 901, controlFrames: 1, epoch: 2 }));
    input.controlFramesSent = 1;
    expect(coverageReport(input).problems).toEqual([]);
    expect(coverageReport({ ...input, controlFramesSent: 0 }).exactlyOnce).toBe(false);
  });

  it('names ring drops at the node that lost frames, and the seen counts that then differ', () => {
    const input = healthy();
    input.agents[1] = agent(12, 1, { frames: 890, seen: 890, socketDrops: 10 });
    const report = coverageReport(input);
    expect(report.exactlyOnce).toBe(false);
    expect(report.seen).toBeNull();
    expect(report.problems).toContain(
      'node 12 took 890 of the 900 frames on its interface off the ring (ring drops 10)',
    );
    expect(report.problems).toContain(
      'the nodes saw different numbers of frames (11: 900, 12: 890, 13: 900)',
    );
  });

  it('tells frames owned twice from frames owned by nobody', () => {
    const twice = healthy();
    twice.agents[0] = agent(11, 0, { owned: 302, recordsExported: 302 });
    twice.analyzers = [analyzer({ 11: 302, 12: 300, 13: 300 })];
    expect(coverageReport(twice).problems).toEqual([
      'the nodes own 902 frames together but each saw 900: 2 frames owned twice',
    ]);
    const nobody = healthy();
    nobody.agents[2] = agent(13, 2, { owned: 299, recordsExported: 299 });
    nobody.analyzers = [analyzer({ 11: 300, 12: 300, 13: 299 })];
    expect(coverageReport(nobody).problems).toEqual([
      'the nodes own 899 frames together but each saw 900: 1 frames owned by no node',
    ]);
  });

  it('names queue drops, export loss and unwritten records', () => {
    const input = healthy();
    input.agents[0] = agent(11, 0, { recordsExported: 290, queueFullDrops: 10 });
    input.analyzers = [analyzer({ 11: 280, 12: 300, 13: 300 }, { recordsWritten: 870 }, 1)];
    const problems = coverageReport(input).problems;
    expect(problems).toContain(
      'node 11 exported 290 of the 300 frames it owns (dropped: queue 10, send 0, no analyzer 0)',
    );
    expect(problems).toContain(
      'the analyzers received 880 records, the nodes exported 890 (lost datagrams 3, socket drops 0)',
    );
    expect(problems).toContain('the analyzers wrote 870 of the 880 records they received');
  });

  it('names a mirror that delivered different counts, and a wire that does not match what was sent', () => {
    const input = healthy();
    input.wireFrames = [900, 899, 900];
    input.agents[1] = agent(12, 1, { frames: 899, seen: 899 });
    expect(coverageReport(input).problems[0]).toBe(
      "the capture hosts' passive interfaces got different numbers of frames (capture1 900, capture2 899, capture3 900): the mirror lost frames",
    );
    expect(coverageReport({ ...healthy(), trafficSent: 901 }).problems).toContain(
      "capture1's passive interface got 900 frames, but 901 traffic and 0 control frames were sent",
    );
  });

  it('sums records over several analyzers and checks each node against what it exported', () => {
    const input = healthy();
    input.analyzers = [analyzer({ 11: 100, 12: 200, 13: 150 }), analyzer({ 11: 200, 12: 100, 13: 150 })];
    expect(coverageReport(input).exactlyOnce).toBe(true);
    input.analyzers = [analyzer({ 11: 100, 12: 200, 13: 150 }), analyzer({ 11: 201, 12: 99, 13: 150 })];
    expect(coverageReport(input).problems).toEqual([
      'the analyzers received 301 records from node 11, it exported 300',
      'the analyzers received 299 records from node 12, it exported 300',
    ]);
  });
});

describe('frame multiset', () => {
  const a = Buffer.from('aaaaaaaa', 'hex');
  const b = Buffer.from('bbbbbbbb', 'hex');
  it('compares frames by their first snaplen bytes and counts copies', () => {
    const expected = new FrameMultiset(2);
    expected.add(a, 2);
    expected.add(b);
    const actual = new FrameMultiset(2);
    actual.add(Buffer.from('aaaa00', 'hex'));
    actual.add(b, 3);
    expect(expected.size).toBe(3);
    expect(expected.compare(actual)).toEqual({ missing: 1, extra: 2 });
    actual.add(a);
    expect(expected.compare(actual)).toEqual({ missing: 0, extra: 2 });
    expect(() => expected.compare(new FrameMultiset(4))).toThrow(RangeError);
  });
});

describe('in-band topology frames', () => {
  const key = Buffer.alloc(32, 0x5a);
  // The SPEC test vector's topology, made round-robin over three nodes.
  const topology: TopologyUpdateFields = {
    ...TOPOLOGY_UPDATE_FIELDS,
    term: 1,
    epoch: 2,
    selection: 'round-robin',
    nodeIds: [11, 12, 13],
  };
  const srcMac = parseMac('02:00:00:00:00:c8');

  it('carries the topology, authentic under the cluster key, from the given MAC, with the given TIMESTAMP', () => {
    const frame = inbandTopologyFrame({
      topology,
      clusterKey: key,
      srcMac,
      timestampS: 1_795_000_001,
      senderSeq: 7,
    });
    expect(frame.subarray(0, 14).toString('hex')).toBe('ffffffffffff0200000000c888b5');
    const read = readInbandTopologyUpdate(frame, key);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.topology).toEqual(topology);
    expect(read.message.timestamp).toBe(1_795_000_001);
    expect(read.message.senderSeq).toBe(7);
  });

  it('stamps the current time by default', () => {
    const before = Math.floor(Date.now() / 1000);
    const read = readInbandTopologyUpdate(inbandTopologyFrame({ topology, clusterKey: key, srcMac }), key);
    expect(read.ok && read.message.timestamp).toBeGreaterThanOrEqual(before);
    expect(read.ok && read.message.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('forged with another key, it does not verify under the cluster key', () => {
    const other = forgedKey(key);
    expect(other.length).toBe(key.length);
    expect(other.equals(key)).toBe(false);
    const read = readInbandTopologyUpdate(inbandTopologyFrame({ topology, clusterKey: other, srcMac }), key);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.error.code).toBe('BAD_HMAC');
  });

  it('is longer than the default snaplen with three nodes and an analyzer (the ring must keep it whole)', () => {
    expect(inbandTopologyFrame({ topology, clusterKey: key, srcMac }).length).toBe(135);
  });

  it('reads MAC addresses as sysfs prints them and refuses anything else', () => {
    expect(parseMac('0a:1b:2c:3d:4e:5f\n').toString('hex')).toBe('0a1b2c3d4e5f');
    expect(() => parseMac('0a:1b:2c:3d:4e')).toThrow(/not a MAC address/);
  });
});

/** A ledger epoch with only what the demo screen reads (its number, status and anomaly). */
function epoch(n: number, status: EpochCoverage['status']): EpochCoverage {
  return { epoch: n, status, ...(status === 'anomaly' ? { anomaly: 'node-lost' } : {}) } as EpochCoverage;
}

describe('demo screen', () => {
  const state = (nodes: number, scale: number): DemoScreenState => ({
    labId: 'demo',
    mode: 'round-robin',
    rate: 20_000,
    elapsedS: 3 * 3600 + 25 * 60 + 7,
    wireFrames: 9 * scale,
    wireRate: 19_998.6,
    passiveFrames: Array.from({ length: nodes }, () => 9 * scale),
    hosts: Array.from({ length: nodes }, (_, i) => `capture${i + 1}`),
    nodeIds: Array.from({ length: nodes }, (_, i) => 11 + i),
    agents: Array.from({ length: nodes }, (_, i) =>
      agent(11 + i, i, {
        seen: 9 * scale,
        owned: scale,
        recordsExported: scale,
        socketDrops: scale,
        queueFullDrops: scale,
        recordsSendFailed: scale,
      }),
    ),
    analyzers: [analyzer({ 11: 9 * scale })],
    analyzerHosts: ['analyzer1'],
    coordinators: [
      { id: 1, role: 'down' },
      { id: 2, role: 'active', term: 4_294_967_295, epoch: 4_294_967_295 },
      { id: 3, role: 'standby' },
    ],
    ledger: [epoch(12, 'open'), epoch(11, 'anomaly'), epoch(10, 'exactly-once'), epoch(9, 'exactly-once')],
    lastEvent: '17:54:31 takeover: coordinator 2 is active in term 4294967295 (coordinator 1 went silent)',
    dashboardUrl: 'http://127.0.0.1:65535/',
  });

  it('fits 80×24 with 8 nodes and ten-digit counts', () => {
    const lines = formatDemoScreen(state(8, 1_111_111_111));
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(SCREEN_WIDTH);
    expect(lines[0]).toMatch(
      /^dicap lab demo · lab demo · 8 capture nodes · round-robin · 20,000\/s +3:25:07$/,
    );
    expect(lines).toContain('wire      9,999,999,999 frames sent, 9,999,999,999 on every passive NIC');
  });

  it('shows per node seen, owned, share, exported and drops by layer, and the live coverage', () => {
    const lines = formatDemoScreen(state(3, 1000));
    expect(lines).toContain('  11  capture1        9,000       1,000  11.1%       1,000 1,000/1,000/1,000');
    expect(lines.find((l) => l.startsWith('coverage'))).toBe('coverage  Σ owned 3,000 of seen 9,000 (33.3%)');
    expect(lines.find((l) => l.startsWith('analyzer1'))).toBe(
      'analyzer1 received 9,000 records, export loss 0 datagrams, socket drops 0',
    );
  });

  it('shows the coordinators, the ledger, the newest event, the dashboard address and the keys', () => {
    const lines = formatDemoScreen(state(3, 1000));
    expect(lines).toContain(
      'coordinators  1 down · 2 active (term 4294967295, epoch 4294967295) · 3 standby',
    );
    expect(lines).toContain('ledger    3 epochs judged, 2 exactly once, 1 anomaly (epoch 11: node-lost)');
    expect(lines.find((l) => l.startsWith('event'))).toMatch(
      /^event {5}17:54:31 takeover: coordinator 2 is active/,
    );
    expect(lines).toContain("dashboard http://127.0.0.1:65535/ (the active coordinator's, in your browser)");
    expect(lines.at(-1)).toBe(DEMO_KEYS);
  });

  it('says which processes have not reported yet, and the final verdict after the stop', () => {
    const waiting = { ...state(2, 10), agents: [undefined, undefined], analyzers: [undefined], ledger: [] };
    const lines = formatDemoScreen(waiting);
    expect(lines).toContain('  11  capture1  (starting)');
    expect(lines).toContain('coverage  (waiting for every node)');
    expect(lines).toContain('ledger    no epoch judged yet');
    const final = formatDemoScreen({
      ...state(3, 300),
      ledger: [epoch(2, 'exactly-once')],
      final: true,
      note: 'stopped',
    });
    expect(final).toContain('ledger    final: 1 epochs judged, 1 exactly once');
    expect(final.at(-1)).toBe('stopped');
  });

  it('writes thousands with separators', () => {
    expect([0, 999, 1000, 1234567].map(thousands)).toEqual(['0', '999', '1,000', '1,234,567']);
  });
});
