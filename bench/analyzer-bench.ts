// `npm run bench -- analyzer`: how many records per second a real `dicap analyzer` process
// receives and writes, fed over loopback by the engine (offline source, every frame owned,
// two workers), per output: pcap and pcapng to /dev/null, and (as root) a TAP interface,
// whose frames the kernel takes in like received ones; with and without the batch MAC
// (SPEC.md §6.5); and with whole frames too large for one datagram, which travel in
// fragments the analyzer puts back together. Reports records per CPU-second of the analyzer
// process (from /proc/<pid>/stat), so the sender's CPU does not count, and each case's CPU
// per record against a baseline measured in the same run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WHOLE_FRAME_SNAPLEN } from '../common/cluster-options.js';
import { deriveBatchKey } from '../protocol/header-batch.js';
import { PAYLOAD_SIZE, runFileEngine } from './file-engine.js';
import { writeSyntheticPcap } from './synthetic-pcap.js';
import { processCpuSeconds } from './process-cpu.js';
import type { ReportTable } from './report.js';
import { startDicap } from '../lab/dicap-command.js';

const PORT = 19950;
/** Frames per input: fewer large ones, so each case sends a few hundred MB at most. */
const FRAMES: Record<number, number> = { 60: 2_000_000, 1514: 400_000, 9000: 80_000 };

interface Case {
  /** Names the case for `versus`. */
  id: string;
  output: string;
  args: string[];
  /** Frame length in the input file (bytes, without FCS). */
  frameBytes: number;
  snaplen: number;
  mac: boolean;
  /** The case whose CPU per record this one is compared with (itself for a baseline). */
  versus: string;
}

function cases(): Case[] {
  const pcap = { output: 'pcap to /dev/null', args: ['--write', '/dev/null'] };
  const pcapng = { output: 'pcapng to /dev/null', args: ['--write', '/dev/null', '--format', 'pcapng'] };
  const tap = { output: 'TAP interface', args: ['--output', `tap:dbench${process.pid % 10000}`] };
  const list: Case[] = [
    { id: 'p64', ...pcap, frameBytes: 60, snaplen: 64, mac: false, versus: 'p128' },
    { id: 'p128', ...pcap, frameBytes: 60, snaplen: 128, mac: false, versus: 'p128' },
    {
      id: 'ng128',
      ...pcapng,
      frameBytes: 60,
      snaplen: 128,
      mac: false,
      versus: 'p128',
    },
    { id: 'p128mac', ...pcap, frameBytes: 60, snaplen: 128, mac: true, versus: 'p128' },
    // Whole frames: a 1514-byte frame needs 2 datagrams of 1472 bytes, a 9000-byte one 7.
    { id: 'w1514', ...pcap, frameBytes: 1514, snaplen: WHOLE_FRAME_SNAPLEN, mac: false, versus: 'w1514' },
    { id: 'w1514mac', ...pcap, frameBytes: 1514, snaplen: WHOLE_FRAME_SNAPLEN, mac: true, versus: 'w1514' },
    {
      id: 'ng1514',
      ...pcapng,
      frameBytes: 1514,
      snaplen: WHOLE_FRAME_SNAPLEN,
      mac: false,
      versus: 'w1514',
    },
    { id: 'w9000', ...pcap, frameBytes: 9000, snaplen: WHOLE_FRAME_SNAPLEN, mac: false, versus: 'w9000' },
    { id: 'w9000mac', ...pcap, frameBytes: 9000, snaplen: WHOLE_FRAME_SNAPLEN, mac: true, versus: 'w9000' },
  ];
  // A TAP needs CAP_NET_ADMIN; it has no address and no IPv6, so the kernel drops what it takes in.
  if (process.getuid?.() === 0) {
    list.splice(3, 0, { id: 'tap128', ...tap, frameBytes: 60, snaplen: 128, mac: false, versus: 'p128' });
    list.splice(list.findIndex((c) => c.id === 'ng1514') + 1, 0, {
      id: 'tap1514',
      ...tap,
      frameBytes: 1514,
      snaplen: WHOLE_FRAME_SNAPLEN,
      mac: false,
      versus: 'w1514',
    });
  }
  return list;
}

export async function benchAnalyzer(): Promise<ReportTable> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-analyzer-'));
  const keyFile = path.join(dir, 'cluster.key');
  const clusterKey = crypto.randomBytes(32);
  fs.writeFileSync(keyFile, clusterKey.toString('hex') + '\n', { mode: 0o600 });
  const rows: string[][] = [];
  const cpuPerRecord = new Map<string, number>();
  try {
    for (const c of cases()) {
      const input = path.join(dir, `synthetic-${c.frameBytes}.pcap`);
      if (!fs.existsSync(input)) writeSyntheticPcap(input, FRAMES[c.frameBytes]!, 4096, c.frameBytes);
      const summary = path.join(dir, 'analyzer.json');
      const analyzer = startDicap([
        'analyzer',
        '--listen',
        `127.0.0.1:${PORT}`,
        ...c.args,
        '--snaplen',
        String(c.snaplen),
        '--status-interval',
        '0',
        '--summary',
        summary,
        ...(c.mac ? ['--cluster-key-file', keyFile] : []),
      ]);
      await analyzer.waitForStderr(/listening/i);
      const cpu0 = processCpuSeconds(analyzer.child.pid!);
      const t0 = process.hrtime.bigint();
      const { recordsExported: sent } = await runFileEngine(input, 'flow', PORT, {
        nodeId: 1,
        workers: 2,
        snaplen: c.snaplen,
        ...(c.mac ? { batchKey: deriveBatchKey(clusterKey) } : {}),
      });
      await new Promise((r) => setTimeout(r, 300));
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpuS = processCpuSeconds(analyzer.child.pid!) - cpu0;
      analyzer.child.kill('SIGTERM');
      await analyzer.exited;
      const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
      const perRecord = cpuS / s.records;
      cpuPerRecord.set(c.id, perRecord);
      const versus = cpuPerRecord.get(c.versus);
      const row = [
        c.output,
        String(c.frameBytes),
        c.snaplen === WHOLE_FRAME_SNAPLEN ? '0 (whole)' : String(c.snaplen),
        c.mac ? 'GMAC+AES-128' : 'none',
        String(sent),
        String(s.records),
        String(s.reassembledRecords ?? 0),
        String(s.socketDrops ?? 0),
        (s.records / wallS / 1e6).toFixed(3),
        (s.records / cpuS / 1e6).toFixed(3),
        (perRecord * 1e6).toFixed(3),
        versus ? `${(perRecord / versus).toFixed(2)} (vs ${c.versus})` : '—',
      ];
      console.error(row.join(' | '));
      rows.push(row);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Analyzer: records received and written, by output, MAC and frame size',
    note: `Synthetic IPv4/UDP frames sent by the engine over loopback in ${PAYLOAD_SIZE}-byte datagrams (60-byte frames: ${FRAMES[60]}; whole 1514-byte: ${FRAMES[1514]}; whole 9000-byte: ${FRAMES[9000]}). Snaplen 0 keeps whole frames: a frame larger than a datagram travels in fragments the analyzer reassembles. Wall rate is bounded by the sender; "per core" = records / analyzer process CPU seconds; the last column is CPU per record against the named case of the same run (p128: pcap at snaplen 128 without MAC; w1514/w9000: the same whole frames without MAC). The TAP rows run as root only.`,
    columns: [
      'output',
      'frame bytes',
      'snaplen',
      'MAC',
      'records sent',
      'received',
      'reassembled',
      'socket drops',
      'M records/s (wall)',
      'M records/s per core',
      'CPU µs per record',
      'CPU ratio',
    ],
    rows,
  };
}
