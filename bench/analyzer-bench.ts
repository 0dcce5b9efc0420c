// `npm run bench -- analyzer`: how many records per second a real `dicap analyzer` process
// receives and writes, fed over loopback by the engine (offline source, every frame owned,
// two workers), per output: pcap and pcapng to /dev/null, and (as root) a TAP interface,
// whose frames the kernel takes in like received ones. Reports records per CPU-second of the
// analyzer process (from /proc/<pid>/stat), so the sender's CPU does not count, and each
// output's CPU per record against pcap's, measured in the same run.
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

interface OutputCase {
  label: string;
  snaplen: number;
  args: string[];
  /** The case the others' CPU per record is compared with. */
  baseline?: boolean;
}

function outputCases(): OutputCase[] {
  const cases: OutputCase[] = [
    { label: 'pcap to /dev/null', snaplen: 64, args: ['--write', '/dev/null'] },
    { label: 'pcap to /dev/null', snaplen: 128, args: ['--write', '/dev/null'], baseline: true },
    { label: 'pcapng to /dev/null', snaplen: 128, args: ['--write', '/dev/null', '--format', 'pcapng'] },
  ];
  // A TAP needs CAP_NET_ADMIN; it has no address and no IPv6, so the kernel drops what it takes in.
  if (process.getuid?.() === 0)
    cases.push({
      label: 'TAP interface',
      snaplen: 128,
      args: ['--output', `tap:dbench${process.pid % 10000}`],
    });
  return cases;
}

export async function benchAnalyzer(): Promise<ReportTable> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-analyzer-'));
  const input = path.join(dir, 'synthetic-64.pcap');
  writeSyntheticPcap(input, FRAMES);
  const rows: string[][] = [];
  let baselineCpuPerRecord: number | undefined;
  try {
    for (const { label, snaplen, args, baseline } of outputCases()) {
      const summary = path.join(dir, 'analyzer.json');
      const analyzer = startDicap([
        'analyzer',
        '--listen',
        `127.0.0.1:${PORT}`,
        ...args,
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
      const cpuPerRecord = cpuS / c.records;
      if (baseline) baselineCpuPerRecord = cpuPerRecord;
      const row = [
        label,
        String(snaplen),
        String(sent),
        String(c.records),
        String(c.recordsWritten),
        String(c.socketDrops ?? 0),
        (c.records / wallS / 1e6).toFixed(2),
        (c.records / cpuS / 1e6).toFixed(2),
        (cpuPerRecord * 1e6).toFixed(3),
        baselineCpuPerRecord ? (cpuPerRecord / baselineCpuPerRecord).toFixed(2) : '—',
      ];
      console.error(row.join(' | '));
      rows.push(row);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Analyzer: records received and written, by output',
    note: `${FRAMES} 64-byte frames sent by the engine over loopback. Wall rate is bounded by the sender; "per core" = records / analyzer process CPU seconds; "CPU vs pcap" = CPU per record against pcap at snaplen 128 in the same run. The TAP row runs as root only.`,
    columns: [
      'output',
      'snaplen',
      'records sent',
      'received',
      'written',
      'socket drops',
      'M records/s (wall)',
      'M records/s per core',
      'CPU s per M records',
      'CPU vs pcap',
    ],
    rows,
  };
}
