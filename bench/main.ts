// `dicap bench <name>` / `npm run bench -- <name>`: runs one benchmark and writes its
// report to bench/reports/<name>.md.
import path from 'node:path';
import { benchAnalyzer } from './analyzer-bench.js';
import { benchCaptureThreads } from './capture-threads-bench.js';
import { benchControl } from './control-bench.js';
import { benchEngine } from './engine-bench.js';
import { benchHostile } from './hostile-bench.js';
import { benchLab } from './lab-bench.js';
import { benchSoak } from './soak-bench.js';
import { writeReport, type ReportTable } from './report.js';

/** The real captures in the repository (test/captures/README.md), for the engine's "real capture mix". */
const CAPTURES = path.resolve('test', 'captures');

const BENCHMARKS: Record<
  string,
  { summary: string; run: () => Promise<ReportTable[]>; needsRoot?: boolean; onlyByName?: boolean }
> = {
  engine: {
    summary:
      'engine frames/s per core from the offline source (dropped; exported with and without UDP GSO), and live with 1 and 2 capture threads (root)',
    run: async () => [await benchEngine(CAPTURES), await benchCaptureThreads()],
  },
  analyzer: {
    summary: 'analyzer records/s per core, fed over loopback: pcap, pcapng, TAP (as root)',
    run: async () => [await benchAnalyzer()],
  },
  control: {
    summary:
      'node death and failover in the lab at --timing default and fast, the coordinator at 10/100/1000 members (root, ~10 min)',
    run: () => benchControl(),
    needsRoot: true,
  },
  hostile: {
    summary:
      'coordinator memory and event-loop blocking under 10,000 JOINs and 500 WebSocket clients (DICAP_BENCH_BASELINE: another build too); analyzer and coordinator memory under 20,000 spoofed node IDs',
    run: () => benchHostile(),
  },
  lab: {
    summary: 'live cluster in the lab vs tcpdump: loss by layer, CPU per frame (root, ~10 min)',
    run: () => benchLab(),
    needsRoot: true,
  },
  'lab-selection': {
    summary:
      'the selection stages (user, socket, xdp) against tcpdump whole-link and share-filter, 3 capture hosts (root, ~5 min; also the end of lab)',
    run: async () => {
      const { benchSelectionStages } = await import('./lab-selection-bench.js');
      const { labSelectionTables } = await import('./lab-bench-report.js');
      return labSelectionTables(await benchSelectionStages((line) => console.error(line)));
    },
    needsRoot: true,
    onlyByName: true,
  },
  soak: {
    summary:
      'the whole cluster for 30 min (DICAP_SOAK_MINUTES) with nodes and the active coordinator killed: memory, loss, crashes (root)',
    run: () => benchSoak(),
    needsRoot: true,
    onlyByName: true,
  },
};

function usage(): string {
  const lines = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(10)} ${b.summary}`);
  return [
    'usage: dicap bench [NAME…]   (npm run bench -- NAME…)',
    '',
    'Runs benchmarks (all of them without a NAME) and writes each report to bench/reports/NAME.md.',
    'Reads real captures from test/captures/; takes no options. Without a NAME, benchmarks that need root',
    '(lab) are left out unless running as root, and soak (30 minutes) runs only when named.',
    '',
    ...lines,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const asRoot = process.getuid?.() === 0;
  const names =
    argv.length > 0
      ? argv
      : Object.keys(BENCHMARKS).filter(
          (name) => !BENCHMARKS[name]!.onlyByName && (asRoot || !BENCHMARKS[name]!.needsRoot),
        );
  for (const name of names) {
    const bench = BENCHMARKS[name];
    if (!bench) {
      console.error(
        `dicap bench: unknown benchmark "${name}"; choose from ${Object.keys(BENCHMARKS).join(', ')}`,
      );
      return 2;
    }
    const file = writeReport(name, await bench.run());
    console.error(`dicap bench: ${name} report written to ${file}`);
  }
  return 0;
}
