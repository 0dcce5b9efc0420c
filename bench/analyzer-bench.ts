// `npm run bench -- analyzer`: how many records per second a real `dicap analyzer` process
// receives and writes as pcap (to /dev/null), fed over loopback by the engine (offline source,
// every frame owned, two workers). Reports records per CPU-second of the analyzer process
// (from /proc/<pid>/stat), so the sender's CPU does not count.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { CaptureEngine } from '../native/engine.js';
import { writeSyntheticPcap } from './synthetic-pcap.js';
import { processCpuSeconds } from './process-cpu.js';
import type { ReportTable } from './report.js';
import { startDicap } from '../lab/dicap-command.js';

const FRAMES = 2_000_000;
const PORT = 19950;

async function feed(file: string, snaplen: number): Promise<number> {
  const engine = new CaptureEngine({
    nodeId: 1,
    workers: 2,
    snaplen,
    payloadSize: 1472,
    flushUs: 10_000,
    exportMode: 'random',
    queueSlots: 65536,
    file,
    realtime: false,
  });
  engine.offerTopology({
    term: 0,
    epoch: 1,
    mode: 'flow',
    nodeIds: [1],
    k0: 0,
    k1: 0,
    validityStartNs: 0n,
    analyzers: [{ ip: '127.0.0.1', port: PORT }],
    snaplen: 0,
  });
  const ended = once(engine, 'end');
  engine.start();
  await ended;
  engine.stop();
  return engine.counters().recordsExported;
}

export async function benchAnalyzer(): Promise<ReportTable> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-analyzer-'));
  const input = path.join(dir, 'synthetic-64.pcap');
  writeSyntheticPcap(input, FRAMES);
  const rows: string[][] = [];
  try {
    for (const snaplen of [64, 128]) {
      const summary = path.join(dir, 'analyzer.json');
      const analyzer = startDicap([
        'analyzer',
        '--listen',
        `127.0.0.1:${PORT}`,
        '--write',
        '/dev/null',
        '--status-interval',
        '0',
        '--summary',
        summary,
      ]);
      await analyzer.waitForStderr(/listening/i);
      const cpu0 = processCpuSeconds(analyzer.child.pid!);
      const t0 = process.hrtime.bigint();
      const sent = await feed(input, snaplen);
      await new Promise((r) => setTimeout(r, 300));
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpuS = processCpuSeconds(analyzer.child.pid!) - cpu0;
      analyzer.child.kill('SIGTERM');
      await analyzer.exited;
      const c = JSON.parse(fs.readFileSync(summary, 'utf8'));
      const row = [
        String(snaplen),
        String(sent),
        String(c.records),
        String(c.recordsWritten),
        String(c.socketDrops ?? 0),
        (c.records / wallS / 1e6).toFixed(2),
        (c.records / cpuS / 1e6).toFixed(2),
        ((cpuS / c.records) * 1e6).toFixed(3),
      ];
      console.error(row.join(' | '));
      rows.push(row);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Analyzer: records received and written as pcap (to /dev/null)',
    note: `${FRAMES} 64-byte frames sent by the engine over loopback. Wall rate is bounded by the sender; "per core" = records / analyzer process CPU seconds.`,
    columns: [
      'snaplen',
      'records sent',
      'received',
      'written',
      'socket drops',
      'M records/s (wall)',
      'M records/s per core',
      'CPU s per M records',
    ],
    rows,
  };
}
