// `npm run fuzz -- [--seconds S] [--only TARGET,…]`: builds the libFuzzer targets of
// native/fuzz (ASan + UBSan, into build/fuzz, apart from node-gyp's build/Release), seeds
// them (seeds.ts), runs each for S seconds and prints one line per target. Exits 1 when a
// target crashed (its input is kept under build/fuzz/crashes/), 2 when it cannot fuzz.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeSeeds } from './seeds.js';
import { FUZZ_TARGETS, MAX_INPUT_BYTES, type FuzzTarget } from './targets.js';

const repo = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

interface Outcome {
  target: string;
  runs: number;
  execPerSecond: number;
  corpus: number;
  crash?: string; // the sanitizer's or libFuzzer's summary line
  input?: string; // the saved crashing input
}

function usage(problem: string): never {
  console.error(
    `dicap fuzz: ${problem}; usage: npm run fuzz -- [--seconds S] [--only ${FUZZ_TARGETS.join(',')}]`,
  );
  process.exit(2);
}

function runTarget(target: FuzzTarget, seconds: number, out: string, seedsRoot: string): Outcome {
  const corpus = path.join(out, 'corpus', target); // grows from run to run
  const crashes = path.join(out, 'crashes', target);
  const regressions = path.join(repo, 'native', 'fuzz', 'regressions', target);
  for (const dir of [corpus, crashes]) fs.mkdirSync(dir, { recursive: true });
  const dirs = [corpus, path.join(seedsRoot, target), ...(fs.existsSync(regressions) ? [regressions] : [])];
  const run = spawnSync(
    path.join(out, `${target}_fuzzer`),
    [
      `-max_total_time=${seconds}`,
      `-max_len=${MAX_INPUT_BYTES[target]}`,
      '-timeout=25',
      '-rss_limit_mb=2048',
      '-use_value_profile=1',
      '-print_final_stats=1',
      `-artifact_prefix=${crashes}/`,
      ...dirs,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const log = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  fs.writeFileSync(path.join(out, `${target}.log`), log);
  const stat = (name: string) => Number(log.match(new RegExp(`stat::${name}:\\s+(\\d+)`))?.[1] ?? 0);
  const outcome: Outcome = {
    target,
    runs: stat('number_of_executed_units'),
    execPerSecond: stat('average_exec_per_sec'),
    corpus: fs.readdirSync(corpus).length,
  };
  if (run.status !== 0) {
    outcome.crash =
      log.match(/^SUMMARY: .*$/m)?.[0] ??
      log.match(/^==\d+== ?ERROR: .*$/m)?.[0] ??
      `exit ${run.status ?? run.signal}${run.error ? ` (${run.error.message})` : ''}`;
    outcome.input = log.match(/Test unit written to (\S+)/)?.[1];
  }
  return outcome;
}

function main(): number {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string', default: '60' },
        only: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (values.help) {
    console.log(
      `usage: npm run fuzz -- [--seconds S] [--only TARGET,…]\n\nRuns each libFuzzer target of native/fuzz for S seconds (default 60): ${FUZZ_TARGETS.join(', ')}.\nSee native/fuzz/README.md.`,
    );
    return 0;
  }
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 1)
    usage(`--seconds must be a whole number of seconds ≥ 1, got ${values.seconds}`);
  const names = values.only ? values.only.split(',') : [...FUZZ_TARGETS];
  const unknown = names.filter((t) => !(FUZZ_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) usage(`unknown target ${unknown.join(', ')}`);
  const targets = names as FuzzTarget[];

  const out = path.join(repo, 'build', 'fuzz');
  const build = spawnSync(
    'make',
    [
      '-C',
      path.join(repo, 'native', 'fuzz'),
      `OUT=${out}`,
      `-j${Math.min(4, os.availableParallelism())}`,
      '--no-print-directory',
      '-s',
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (build.status !== 0) {
    console.error(
      'dicap fuzz: building the fuzz targets failed (they need clang++ with libFuzzer and libssl-dev: apt-get install clang libclang-rt-14-dev libssl-dev)',
    );
    return 2;
  }
  const shared = path.resolve(repo, '..', 'shared', 'corpus');
  const sharedCorpus = fs.existsSync(shared) ? shared : undefined;
  if (!sharedCorpus) console.log(`fuzz: no shared corpus at ${shared}; seeding from the repository only`);
  const seeds = writeSeeds(repo, path.join(out, 'seeds'), sharedCorpus);

  const outcomes = targets.map((target) => {
    const outcome = runTarget(target, seconds, out, path.join(out, 'seeds'));
    const head = `fuzz ${target}: ${outcome.runs} runs in ${seconds} s (${outcome.execPerSecond} exec/s), corpus ${outcome.corpus} inputs from ${seeds[target]} seeds`;
    console.log(
      outcome.crash
        ? `${head}, CRASHED: ${outcome.crash}; input ${outcome.input ?? '(not saved)'}, reproduce with build/fuzz/${target}_fuzzer INPUT, log build/fuzz/${target}.log`
        : `${head}, no crash`,
    );
    return outcome;
  });
  const crashed = outcomes.filter((o) => o.crash).length;
  console.log(`fuzz: ${outcomes.length} targets, ${crashed} crashed`);
  return crashed > 0 ? 1 : 0;
}

process.exitCode = main();
