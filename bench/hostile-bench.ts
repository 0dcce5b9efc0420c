// The hostile-input benchmark (`npm run bench -- hostile`, issue 11): a real coordinator
// process on loopback under a storm of 10,000 authenticated JOINs (distinct node IDs) and
// then 500 WebSocket clients on its dashboard. It reports the coordinator's resident memory
// (now and peak) after each, how long /healthz took at worst during the storm (how long the
// event loop was blocked), what was admitted and what refused. A second table: 20,000
// spoofed node IDs against a real analyzer (header batches, no key: its node table is
// bounded) and a real coordinator (JOINs signed with another key: no state at all).
//
// DICAP_BENCH_BASELINE=PATH/dist/bin/dicap.js measures another build the same way in the same
// run (e.g. the code before the fix), as a second row.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ControlChannel } from '../common/control-channel.js';
import { DICAP, dicapOptions } from '../lab/dicap-command.js';
import { encodeHeaderBatch } from '../protocol/header-batch.js';
import { join } from '../protocol/index.js';
import type { ReportTable } from './report.js';

const JOINS = 10_000;
const SPOOFED_NODE_IDS = 20_000;
const PAGES = 500;
/** JOINs sent per turn of the sender's event loop (the kernel's socket buffer takes them). */
const JOIN_BURST = 50;
const SETTLE_MS = 3000;

interface Memory {
  rssKib: number;
  peakKib: number;
}

function memoryOf(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssKib: kib('VmRSS'), peakKib: kib('VmHWM') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET on a component's HTTP server: status code and body, or the error's text. */
function get(port: number, urlPath: string, timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (c: string) => (body += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

/** A component process of the build under test; its stderr kept for the report. */
interface Component {
  pid: number;
  running(): boolean;
  lastLine(): string;
  stop(): Promise<void>;
}

function startComponent(script: string, args: string[]): Component {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    pid: child.pid!,
    running: () => child.exitCode === null && child.signalCode === null,
    lastLine: () => stderr.trim().split('\n').at(-1) ?? '',
    stop: async () => {
      child.kill('SIGTERM');
      if (
        (await Promise.race([exited.then(() => 'exited'), sleep(5000).then(() => 'timeout')])) === 'timeout'
      ) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function aliveAfter(component: Component, healthy: boolean): string {
  return component.running() && healthy ? 'yes' : `no (${component.lastLine()})`;
}

/** A coordinator on loopback with `key` as its cluster key, once it is active. */
async function startCoordinator(
  script: string,
  directory: string,
  key: Buffer,
): Promise<{ coordinator: Component; control: number; httpPort: number }> {
  const keyFile = path.join(directory, 'cluster.key');
  fs.writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600 });
  const control = 17_400 + Math.floor(Math.random() * 2000);
  const httpPort = control + 3000;
  const coordinator = startComponent(script, [
    'coordinator',
    ...dicapOptions({
      'cluster-key-file': keyFile,
      listen: `127.0.0.1:${control}`,
      http: `127.0.0.1:${httpPort}`,
      'heartbeat-interval-ms': 1000,
      'node-timeout-ms': 600000,
      'status-interval': 0,
    }),
  ]);
  // Active after one heartbeat interval of listening.
  for (let i = 0; i < 100; i++) {
    const status = await get(httpPort, '/status', 1000);
    if (status.status === 200 && (JSON.parse(status.body) as { role: string }).role === 'active') break;
    await sleep(100);
  }
  return { coordinator, control, httpPort };
}

/** Calls send(1…count) in bursts, a turn of the event loop between (the kernel's socket buffer takes a burst). */
async function storm(count: number, send: (i: number) => void): Promise<void> {
  for (let i = 1; i <= count; i++) {
    send(i);
    if (i % JOIN_BURST === 0) await sleep(5);
  }
}

interface CoordinatorStatusFigures {
  members: string;
  received: string;
  refused: string;
  rejected: string;
}

async function coordinatorFigures(httpPort: number): Promise<CoordinatorStatusFigures> {
  const status = await get(httpPort, '/status');
  if (status.status !== 200) return { members: 'no answer', received: '—', refused: '—', rejected: '—' };
  const s = JSON.parse(status.body) as {
    members: unknown[];
    counters: { joinsRefused?: number };
    control_messages: { received: number; rejected?: Record<string, number> };
  };
  return {
    members: String(s.members.length),
    received: String(s.control_messages.received),
    refused: s.counters.joinsRefused === undefined ? 'not counted' : String(s.counters.joinsRefused),
    rejected: String(Object.values(s.control_messages.rejected ?? {}).reduce((a, b) => a + b, 0)),
  };
}

interface Result {
  build: string;
  startKib: number;
  afterJoins: Memory;
  worstHealthzMs: number;
  figures: CoordinatorStatusFigures;
  afterPages: Memory;
  pages: string;
  alive: string;
}

async function measure(build: string, script: string, directory: string): Promise<Result> {
  const key = randomBytes(32);
  const { coordinator, control, httpPort } = await startCoordinator(script, directory, key);
  try {
    const startKib = memoryOf(coordinator.pid).rssKib;

    // The storm, while /healthz is asked every 50 ms: its worst answer time is the blocking.
    const sender = await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key });
    let worstHealthzMs = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const started = Date.now();
        await get(httpPort, '/healthz');
        worstHealthzMs = Math.max(worstHealthzMs, Date.now() - started);
        await sleep(50);
      }
    })();
    await storm(JOINS, (id) =>
      sender.send(join({ nodeId: id, role: 'capture' }), { ip: '127.0.0.1', port: control }),
    );
    await sleep(SETTLE_MS);
    probing = false;
    await probe;
    await sender.close();
    const afterJoins = memoryOf(coordinator.pid);
    const figures = await coordinatorFigures(httpPort);

    // 500 pages at once.
    const sockets = await Promise.all(
      Array.from(
        { length: PAGES },
        () =>
          new Promise<WebSocket | undefined>((resolve) => {
            const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/live`);
            ws.on('open', () => resolve(ws));
            ws.on('error', () => resolve(undefined));
          }),
      ),
    );
    const connected = sockets.filter((s) => s !== undefined);
    await sleep(SETTLE_MS);
    const afterPages = memoryOf(coordinator.pid);
    for (const s of connected) s.terminate();
    const healthy = (await get(httpPort, '/healthz', 5000)).status === 200;
    return {
      build,
      startKib,
      afterJoins,
      worstHealthzMs,
      figures,
      afterPages,
      pages: `${connected.length} of ${PAGES}`,
      alive: aliveAfter(coordinator, healthy),
    };
  } finally {
    await coordinator.stop();
  }
}

interface SpoofedResult {
  target: string;
  startKib: number;
  after: Memory;
  received: string;
  state: string;
  refused: string;
  alive: string;
}

/** One Prometheus sample's value from a scrape, or '—'. */
function sample(scrape: string, series: string): string {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line?.split(' ')[1] ?? '—';
}

/** A real analyzer (no key) sent one header batch from each of 20,000 node IDs. */
async function spoofAnalyzer(script: string, directory: string): Promise<SpoofedResult> {
  const port = 19_400 + Math.floor(Math.random() * 2000);
  const metricsPort = port + 3000;
  const analyzer = startComponent(script, [
    'analyzer',
    ...dicapOptions({
      listen: `127.0.0.1:${port}`,
      write: path.join(directory, 'spoofed.pcap'),
      metrics: `127.0.0.1:${metricsPort}`,
    }),
  ]);
  try {
    for (let i = 0; i < 100 && (await get(metricsPort, '/healthz', 1000)).status !== 200; i++)
      await sleep(100);
    const startKib = memoryOf(analyzer.pid).rssKib;
    const socket = dgram.createSocket('udp4');
    const frame = Buffer.alloc(60);
    await storm(SPOOFED_NODE_IDS, (i) =>
      socket.send(
        encodeHeaderBatch({
          nodeId: 1_000_000 + i,
          epoch: 1,
          stream: 0,
          seq: 0n,
          records: [{ tsSec: 1_700_000_000 + i, tsNsec: 0, wireLen: frame.length, data: frame }],
        }),
        port,
        '127.0.0.1',
      ),
    );
    await sleep(SETTLE_MS);
    socket.close();
    const after = memoryOf(analyzer.pid);
    const scrape = await get(metricsPort, '/metrics');
    return {
      target: 'analyzer, header batches without a key',
      startKib,
      after,
      received: sample(scrape.body, 'dicap_analyzer_received_datagrams_total'),
      state: `${scrape.body.split('\n').filter((l) => l.startsWith('dicap_analyzer_node_datagrams_total{')).length} nodes`,
      refused: sample(scrape.body, 'dicap_analyzer_malformed_datagrams_total{reason="node_limit"}'),
      alive: aliveAfter(analyzer, scrape.status === 200),
    };
  } finally {
    await analyzer.stop();
  }
}

/** A real coordinator sent JOINs from 20,000 node IDs, signed with a key that is not the cluster's. */
async function spoofCoordinator(script: string, directory: string): Promise<SpoofedResult> {
  const { coordinator, control, httpPort } = await startCoordinator(script, directory, randomBytes(32));
  try {
    const startKib = memoryOf(coordinator.pid).rssKib;
    const forger = await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key: randomBytes(32) });
    await storm(SPOOFED_NODE_IDS, (id) =>
      forger.send(join({ nodeId: id, role: 'capture' }), { ip: '127.0.0.1', port: control }),
    );
    await sleep(SETTLE_MS);
    await forger.close();
    const after = memoryOf(coordinator.pid);
    const figures = await coordinatorFigures(httpPort);
    return {
      target: 'coordinator, JOINs signed with another key',
      startKib,
      after,
      received: figures.received,
      state: `${figures.members} members`,
      refused: `${figures.rejected} rejected`,
      alive: aliveAfter(coordinator, (await get(httpPort, '/healthz', 5000)).status === 200),
    };
  } finally {
    await coordinator.stop();
  }
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)}`;

export async function benchHostile(): Promise<ReportTable[]> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-hostile-'));
  try {
    const builds: Array<[string, string]> = [['this build', DICAP]];
    const baseline = process.env.DICAP_BENCH_BASELINE;
    if (baseline) builds.push([`baseline ${baseline}`, baseline]);
    const results: Result[] = [];
    for (const [name, script] of builds) results.push(await measure(name, script, directory));
    const spoofed = [await spoofAnalyzer(DICAP, directory), await spoofCoordinator(DICAP, directory)];
    const storms: ReportTable = {
      title: `Coordinator under ${JOINS.toLocaleString('en')} authenticated JOINs, then ${PAGES} WebSocket clients`,
      note: `One coordinator on loopback (default --max-members), JOINs from ${JOINS.toLocaleString('en')} distinct node IDs in bursts of ${JOIN_BURST}, /healthz asked every 50 ms meanwhile (its worst time is how long the event loop was blocked); memory is VmRSS (peak: VmHWM) in MiB, ${SETTLE_MS / 1000} s after each storm.`,
      columns: [
        'build',
        'RSS at start',
        'RSS after JOINs (peak)',
        'worst /healthz during JOINs (ms)',
        'messages received',
        'members',
        'JOINs refused',
        'RSS with pages (peak)',
        'pages connected',
        'alive at the end',
      ],
      rows: results.map((r) => [
        r.build,
        mib(r.startKib),
        `${mib(r.afterJoins.rssKib)} (${mib(r.afterJoins.peakKib)})`,
        String(r.worstHealthzMs),
        r.figures.received,
        r.figures.members,
        r.figures.refused,
        `${mib(r.afterPages.rssKib)} (${mib(r.afterPages.peakKib)})`,
        r.pages,
        r.alive,
      ]),
    };
    const spoofing: ReportTable = {
      title: `${SPOOFED_NODE_IDS.toLocaleString('en')} spoofed node IDs`,
      note: `One datagram from each of ${SPOOFED_NODE_IDS.toLocaleString('en')} node IDs in bursts of ${JOIN_BURST}, to a real component of this build on loopback; memory as above, ${SETTLE_MS / 1000} s after the storm. The analyzer without a key keeps state for at most 1024 nodes (SPEC §6.5) and counts the rest as node_limit; the coordinator keeps nothing for a message whose MAC does not verify.`,
      columns: [
        'target',
        'RSS at start',
        'RSS after (peak)',
        'datagrams received',
        'state kept',
        'refused',
        'alive at the end',
      ],
      rows: spoofed.map((r) => [
        r.target,
        mib(r.startKib),
        `${mib(r.after.rssKib)} (${mib(r.after.peakKib)})`,
        r.received,
        r.state,
        r.refused,
        r.alive,
      ]),
    };
    return [storms, spoofing];
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
