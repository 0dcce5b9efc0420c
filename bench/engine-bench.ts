// `npm run bench -- engine`: how fast the capture engine classifies and exports frames,
// from the offline source (so the ring and the NIC are out of the picture). Reports frames
// per second of wall time and frames per CPU-second of the whole process (capture thread +
// export worker), i.e. per core. Cases: frames this node does not own (dropped after
// selection) and frames it owns (copied, batched, sent over loopback UDP to a sink).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { runFileEngine, type FileEngineRun } from './file-engine.js';
import { writeCorpusPcap, writeSyntheticPcap } from './synthetic-pcap.js';
import type { ReportTable } from './report.js';

const FRAMES = 2_000_000;
const REPEATS = 3;

/** A UDP port that accepts datagrams and never reads them: the kernel drops past its buffer. */
async function startUdpSink(): Promise<{ port: number; process: ChildProcess }> {
  const child = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("127.0.0.1",0))\nprint(s.getsockname()[1],flush=True)\ntime.sleep(3600)',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), process: child };
}

function best(runs: FileEngineRun[]): FileEngineRun {
  return runs.reduce((a, b) => (b.cpuS < a.cpuS ? b : a));
}

export async function benchEngine(corpusDir: string): Promise<ReportTable> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-'));
  const sink = await startUdpSink();
  try {
    const inputs: Array<[string, string]> = [];
    const synthetic = path.join(dir, 'synthetic-64.pcap');
    writeSyntheticPcap(synthetic, FRAMES);
    inputs.push(['64-byte IPv4/UDP', synthetic]);
    if (fs.existsSync(corpusDir)) {
      const corpus = path.join(dir, 'corpus.pcap');
      writeCorpusPcap(corpus, corpusDir, FRAMES);
      inputs.push(['real capture mix', corpus]);
    }
    const rows: string[][] = [];
    for (const [label, file] of inputs) {
      for (const [mode, owned, gso] of [
        ['flow', false, true],
        ['round-robin', false, true],
        ['flow', true, true],
        ['flow', true, false],
        ['ipid', true, true],
        ['ipid', true, false],
      ] as const) {
        const runs: FileEngineRun[] = [];
        for (let i = 0; i < REPEATS; ++i)
          runs.push(
            await runFileEngine(file, mode, sink.port, {
              nodeId: owned ? 1 : 99,
              workers: 1,
              snaplen: 128,
              gso,
            }),
          );
        const r = best(runs);
        const row = [
          label,
          mode,
          owned ? `owned, exported (${gso ? 'UDP GSO' : 'one datagram per send'})` : 'not owned (dropped)',
          String(r.frames),
          String(r.recordsExported),
          (r.frames / r.wallS / 1e6).toFixed(2),
          (r.frames / r.cpuS / 1e6).toFixed(2),
          ((r.cpuS / r.frames) * 1e6).toFixed(3),
        ];
        console.error(row.join(' | '));
        rows.push(row);
      }
    }
    return {
      title: 'Engine, offline source (1 capture thread + 1 export worker)',
      note: `${FRAMES} frames per run, best CPU of ${REPEATS} runs. "M frames/s per core" = frames / process CPU seconds (capture + worker threads). Owned frames go over loopback UDP to a socket that never reads, with UDP GSO (runs of equal-length batches in one UDP_SEGMENT write, the default) and with one datagram per send (--no-export-gso): the difference is the export cost per record.`,
      columns: [
        'input',
        'mode',
        'case',
        'frames',
        'exported',
        'M frames/s (wall)',
        'M frames/s per core',
        'CPU s per M frames',
      ],
      rows,
    };
  } finally {
    sink.process.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
