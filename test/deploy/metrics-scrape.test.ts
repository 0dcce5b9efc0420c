// Scrapes /metrics of real processes on loopback: an agent replaying a corpus capture at
// its own pace (--pcap --realtime), the analyzer it exports to (which joins the coordinator)
// and a coordinator --insecure. Every documented metric of each component is served with
// the documented type and labels, and the values agree across the processes.
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicapOptions, type DicapProcess } from '../../lab/dicap-command.js';
import { DicapProcesses } from '../helpers/dicap-processes.js';
import { tempDir } from '../helpers/temp-dir.js';
import { readDocumentedMetrics, type DocumentedMetric } from '../docs/metrics-doc.js';
import { scrape, sumOf, valueOf, type Exposition } from './prometheus-text.js';
import { testCapture } from '../helpers/captures.js';

// 20 frames: 10 within 0.15 s, then 7.7 s of silence, then 10 more. Replayed in real time,
// the agent is at rest in the silence, so its counters and the analyzer's can be compared.
const CAPTURE = testCapture('zeek__dns-edns-tcp-keepalive.pcap');
const FIRST_BURST = 10;
const ALL_FRAMES = 20;

const documented = readDocumentedMetrics();
const tmp = tempDir('scrape');
const processes = new DicapProcesses();
const start = (args: string[]) => processes.start(args);

/** Scrapes until `ready` holds (the processes run on their own clocks). */
async function scrapeUntil(
  port: number,
  ready: (e: Exposition) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await scrape(port).catch(() => undefined);
    if (e && ready(e)) return e;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every documented metric of the component is served, with its type and label names. */
function expectDocumented(
  e: Exposition,
  component: DocumentedMetric['component'],
  except: readonly string[] = [],
): void {
  const mine = documented.filter((m) => m.component === component || m.component === 'every');
  for (const metric of mine.filter((m) => !except.includes(m.name))) {
    expect(e.types.get(metric.name), `# TYPE of ${metric.name}`).toBe(metric.type);
    // A histogram is served as _bucket, _sum and _count series; _count carries its own labels.
    const sampleName = metric.type === 'histogram' ? `${metric.name}_count` : metric.name;
    const series = e.samples.filter((s) => s.name === sampleName);
    expect(series.length, `series of ${metric.name}`).toBeGreaterThan(0);
    // The agent's registry adds its node label to every metric, the shared ones too.
    const labels =
      metric.component === 'every' && component === 'agent' ? [...metric.labels, 'node'] : metric.labels;
    for (const s of series)
      expect(Object.keys(s.labels).sort(), `labels of ${metric.name}`).toEqual([...labels].sort());
  }
  // The process metrics every component serves.
  expect(e.types.get('process_resident_memory_bytes'), 'process_resident_memory_bytes').toBe('gauge');
  // … and nothing is served that the document does not list.
  const served = [...e.types.keys()].filter((name) => name.startsWith('dicap_'));
  const listed = mine.map((m) => m.name);
  expect(
    served.filter((name) => !listed.includes(name)),
    'metrics missing from docs/metrics.md',
  ).toEqual([]);
}

let ports: {
  control: number;
  coordinatorHttp: number;
  data: number;
  analyzerHttp: number;
  agentHttp: number;
};
let agent: DicapProcess;

beforeAll(async () => {
  ports = {
    control: await freePort('udp'),
    coordinatorHttp: await freePort('tcp'),
    data: await freePort('udp'),
    analyzerHttp: await freePort('tcp'),
    agentHttp: await freePort('tcp'),
  };
  const coordinator = start([
    'coordinator',
    ...dicapOptions({
      insecure: true,
      listen: `127.0.0.1:${ports.control}`,
      http: `127.0.0.1:${ports.coordinatorHttp}`,
      'heartbeat-interval-ms': 200,
      'node-timeout-ms': 2000,
      'epoch-interval-ms': 1700,
      'announce-interval-ms': 0,
      'status-interval': 0,
    }),
  ]);
  await coordinator.waitForStderr(/listening on/);
  const analyzer = start([
    'analyzer',
    ...dicapOptions({
      listen: `127.0.0.1:${ports.data}`,
      write: path.join(tmp, 'out.pcap'),
      metrics: `127.0.0.1:${ports.analyzerHttp}`,
      coordinator: `127.0.0.1:${ports.control}`,
      'node-id': 100,
      insecure: true,
      'heartbeat-interval-ms': 200,
      'status-interval': 0,
    }),
  ]);
  await scrapeUntil(ports.analyzerHttp, () => true, 'the analyzer to serve metrics');
  void analyzer;
  // Round-robin over two nodes in a static topology: node 11 owns every other frame.
  agent = start([
    'agent',
    ...dicapOptions({
      pcap: CAPTURE,
      realtime: true,
      'node-id': 11,
      nodes: '11,22',
      mode: 'round-robin',
      workers: 1,
      analyzer: `127.0.0.1:${ports.data}`,
      metrics: `127.0.0.1:${ports.agentHttp}`,
      summary: path.join(tmp, 'agent.json'),
      'status-interval': 0,
    }),
  ]);
}, 30_000);

afterAll(() => processes.killAll());

describe('metrics of real processes', () => {
  it('agent and analyzer agree while the capture is quiet, and every documented metric is served', async () => {
    const agentMetrics = await scrapeUntil(
      ports.agentHttp,
      (e) =>
        valueOf(e, 'dicap_agent_source_frames_total') === FIRST_BURST &&
        valueOf(e, 'dicap_agent_exported_records_total') === FIRST_BURST / 2,
      `the agent to export the first ${FIRST_BURST / 2} records`,
    );
    const analyzerMetrics = await scrapeUntil(
      ports.analyzerHttp,
      (e) => sumOf(e, 'dicap_analyzer_written_records_total') === FIRST_BURST / 2,
      'the analyzer to write them',
    );
    expect(agent.child.exitCode, "the agent must still be in the capture's quiet gap").toBeNull();

    expectDocumented(agentMetrics, 'agent', [
      'dicap_agent_interface_received_frames_total',
      'dicap_agent_interface_dropped_frames_total',
      'dicap_agent_rejected_control_messages_total',
      'dicap_agent_late_topologies_total', // only when it follows a coordinator
    ]);
    const a = (name: string, labels: Record<string, string> = {}): number =>
      valueOf(agentMetrics, `dicap_agent_${name}`, { node: '11', ...labels });
    expect(a('seen_frames_total')).toBe(FIRST_BURST);
    expect(a('owned_frames_total')).toBe(FIRST_BURST / 2);
    expect(a('not_owned_frames_total')).toBe(FIRST_BURST / 2);
    expect(a('queued_frames_total')).toBe(FIRST_BURST / 2);
    expect(
      a('unassigned_frames_total') + a('inband_accepted_frames_total') + a('inband_rejected_frames_total'),
    ).toBe(0);
    for (const layer of ['ring', 'queue', 'send', 'no_analyzer'])
      expect(a('dropped_frames_total', { layer })).toBe(0);
    expect(a('send_errors_total')).toBe(0);
    expect(a('exported_datagrams_total')).toBeGreaterThanOrEqual(1);
    expect(a('source_bytes_total')).toBeGreaterThan(FIRST_BURST * 60);
    expect(a('socket_frames_total')).toBe(0); // a file has no socket
    expect(a('epoch')).toBe(1);
    expect(a('position')).toBe(0);

    expectDocumented(analyzerMetrics, 'analyzer');
    const z = (name: string, labels: Record<string, string> = {}): number =>
      valueOf(analyzerMetrics, `dicap_analyzer_${name}`, labels);
    // What the agent exported is what the analyzer received from node 11, datagram for datagram.
    expect(z('node_records_total', { node: '11' })).toBe(a('exported_records_total'));
    expect(z('node_datagrams_total', { node: '11' })).toBe(a('exported_datagrams_total'));
    expect(z('received_records_total')).toBe(a('exported_records_total'));
    expect(z('received_bytes_total')).toBe(a('exported_bytes_total'));
    expect(z('node_received_bytes_total', { node: '11' })).toBe(a('exported_bytes_total'));
    expect(z('node_lost_datagrams', { node: '11' })).toBe(0);
    expect(z('opened_files_total')).toBe(1);
    expect(
      z('node_gap_datagrams_total', { node: '11' }) - z('node_late_datagrams_total', { node: '11' }),
    ).toBe(0);
    expect(z('node_runs_total', { node: '11' })).toBe(1);
    expect(z('node_streams', { node: '11' })).toBe(1);
    expect(z('node_epoch', { node: '11' })).toBe(1);
    expect(sumOf(analyzerMetrics, 'dicap_analyzer_malformed_datagrams_total')).toBe(0);
    expect(z('output_state', { state: 'open' })).toBe(1);
    expect(sumOf(analyzerMetrics, 'dicap_analyzer_output_state')).toBe(1);
    expect(z('receive_buffer_bytes')).toBeGreaterThan(0);
  }, 20_000);

  it('the coordinator is active and knows the analyzer, and every documented metric is served', async () => {
    const e = await scrapeUntil(
      ports.coordinatorHttp,
      (m) =>
        valueOf(m, 'dicap_coordinator_active') === 1 &&
        valueOf(m, 'dicap_coordinator_members', { role: 'analyzer' }) === 1,
      'the coordinator to be active with the analyzer as a member',
    );
    expectDocumented(e, 'coordinator');
    const c = (name: string, labels: Record<string, string> = {}): number =>
      valueOf(e, `dicap_coordinator_${name}`, labels);
    expect(c('role', { role: 'active' })).toBe(1);
    expect(c('role', { role: 'standby' }) + c('role', { role: 'candidate' })).toBe(0);
    expect(c('term')).toBeGreaterThanOrEqual(1);
    expect(c('members', { role: 'capture' })).toBe(0);
    expect(c('joins_total')).toBeGreaterThanOrEqual(1);
    expect(c('failovers_total')).toBe(0);
    expect(sumOf(e, 'dicap_coordinator_rejected_messages_total')).toBe(0);
    expect(c('coverage_exactly_once')).toBe(-1); // no capture node, no epoch judged
  }, 15_000);

  it('at the end of the run the analyzer holds every record the agent exported', async () => {
    expect(await agent.exited).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(tmp, 'agent.json'), 'utf8')) as {
      final: boolean;
      frames: number;
      recordsExported: number;
      datagramsSent: number;
    };
    expect(summary).toMatchObject({ final: true, frames: ALL_FRAMES, recordsExported: ALL_FRAMES / 2 });
    const e = await scrapeUntil(
      ports.analyzerHttp,
      (m) => valueOf(m, 'dicap_analyzer_written_records_total') === summary.recordsExported,
      'the last records',
    );
    expect(valueOf(e, 'dicap_analyzer_node_records_total', { node: '11' })).toBe(summary.recordsExported);
    expect(valueOf(e, 'dicap_analyzer_node_datagrams_total', { node: '11' })).toBe(summary.datagramsSent);
    expect(valueOf(e, 'dicap_analyzer_node_gap_datagrams_total', { node: '11' })).toBe(0);
  }, 20_000);
});
