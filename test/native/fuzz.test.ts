// `npm run fuzz -- --seconds 20`: every libFuzzer target of native/fuzz runs 20 s from the
// repository's seeds (and ../shared/corpus when present) without a crash or a sanitizer
// report. Skips with one line where clang's libFuzzer is not installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS } from '../../native/fuzz/targets.js';

const libFuzzer = (() => {
  const run = spawnSync('clang', ['-print-file-name=libclang_rt.fuzzer-x86_64.a'], { encoding: 'utf8' });
  const file = run.status === 0 ? run.stdout.trim() : '';
  return path.isAbsolute(file) && fs.existsSync(file);
})();
if (!libFuzzer)
  console.log(
    'fuzz: skipped, clang with libFuzzer is not installed (apt-get install clang libclang-rt-14-dev)',
  );

describe.skipIf(!libFuzzer)('npm run fuzz', () => {
  it('runs every target for 20 s without a crash and says so per target', () => {
    const run = spawnSync('npm', ['run', '--silent', 'fuzz', '--', '--seconds', '20'], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.trim().split('\n');
    for (const target of FUZZ_TARGETS) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^fuzz ${target}: [1-9]\\d* runs in 20 s \\(\\d+ exec/s\\), corpus \\d+ inputs from [1-9]\\d* seeds, no crash$`,
          ),
        ),
      );
    }
    expect(lines.at(-1)).toBe(`fuzz: ${FUZZ_TARGETS.length} targets, 0 crashed`);
  }, 900_000);
});
