// The hostile-input benchmark (`npm run bench -- hostile`, issue 11): a real coordinator
// process on loopback under a storm of 10,000 authenticated JOINs (distinct node IDs) and
// then 500 WebSocket clients on its dashboard. It reports the coordinator's resident memory
// (now and peak) after each, how long /healthz took at worst during the storm (how long the
// event loop was blocked), what was admitted and what refused.
//
// DICAP_BENCH_BASELINE=PATH/dist/bin/dicap.js measures another build the same way in the same
// run (e.g. the code before the fix), as a second row.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ControlChannel } from '../common/control-channel.js';
import { DICAP } from '../lab/dicap-command.js';
import { join } from '../protocol/index.js';
import type { ReportTable } from './report.js';

const JOINS = 10_000;
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

/** GET on the coordinator's HTTP server: status code and body, or the error's text. */
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

interface Result {
  build: string;
  startKib: number;
  afterJoins: Memory;
  worstHealthzMs: number;
  received: string;
  members: string;
  refused: string;
  afterPages: Memory;
  pages: string;
  alive: string;
}

async function measure(build: string, script: string, directory: string): Promise<Result> {
  const keyFile = path.join(directory, 'cluster.key');
  const key = randomBytes(32);
  fs.writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600 });
  const control = 17_400 + Math.floor(Math.random() * 2000);
  const httpPort = control + 3000;
  const child = spawn(
    process.execPath,
    [
      script,
      'coordinator',
      '--cluster-key-file',
      keyFile,
      '--listen',
      `127.0.0.1:${control}`,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--heartbeat-interval-ms',
      '1000',
      '--node-timeout-ms',
      '600000',
      '--status-interval',
      '0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(`${code ?? signal}`)),
  );
  try {
    // Active after one heartbeat interval of listening.
    for (let i = 0; i < 100; i++) {
      const status = await get(httpPort, '/status', 1000);
      if (status.status === 200 && (JSON.parse(status.body) as { role: string }).role === 'active') break;
      await sleep(100);
    }
    const startKib = memoryOf(child.pid!).rssKib;

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
    for (let id = 1; id <= JOINS; id++) {
      sender.send(join({ nodeId: id, role: 'capture' }), { ip: '127.0.0.1', port: control });
      if (id % JOIN_BURST === 0) await sleep(5);
    }
    await sleep(SETTLE_MS);
    probing = false;
    await probe;
    await sender.close();
    const afterJoins = memoryOf(child.pid!);
    const status = await get(httpPort, '/status');
    let members = 'no answer';
    let refused = '—';
    let received = '—';
    if (status.status === 200) {
      const s = JSON.parse(status.body) as {
        members: unknown[];
        counters: { joinsRefused?: number };
        control_messages: { received: number };
      };
      members = String(s.members.length);
      received = String(s.control_messages.received);
      refused = s.counters.joinsRefused === undefined ? 'not counted' : String(s.counters.joinsRefused);
    }

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
    const afterPages = memoryOf(child.pid!);
    for (const s of connected) s.terminate();
    const alive = child.exitCode === null && (await get(httpPort, '/healthz', 5000)).status === 200;
    return {
      build,
      startKib,
      afterJoins,
      worstHealthzMs,
      received,
      members,
      refused,
      afterPages,
      pages: `${connected.length} of ${PAGES}`,
      alive: alive ? 'yes' : `no (${stderr.trim().split('\n').at(-1) ?? ''})`,
    };
  } finally {
    child.kill('SIGTERM');
    const outcome = await Promise.race([exited, sleep(5000).then(() => 'timeout')]);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)}`;

export async function benchHostile(): Promise<ReportTable> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-hostile-'));
  try {
    const builds: Array<[string, string]> = [['this build', DICAP]];
    const baseline = process.env.DICAP_BENCH_BASELINE;
    if (baseline) builds.push([`baseline ${baseline}`, baseline]);
    const results: Result[] = [];
    for (const [name, script] of builds) results.push(await measure(name, script, directory));
    return {
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
        r.received,
        r.members,
        r.refused,
        `${mib(r.afterPages.rssKib)} (${mib(r.afterPages.peakKib)})`,
        r.pages,
        r.alive,
      ]),
    };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
