// The native unit tests (test/native/*.test.ts) once more, against a build of the addon with
// AddressSanitizer and UndefinedBehaviorSanitizer (clang), so an out-of-bounds read, a
// use-after-free or undefined behaviour that happens to give the right answer still fails.
// The build goes to build/sanitize/ (a copy of binding.gyp and native/, node-gyp as usual),
// apart from build/Release; the tests load it through DICAP_NATIVE_ADDON with the ASan
// runtime preloaded into Node (which is not instrumented itself). Skips with one line where
// clang or its sanitizer runtime is not installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve('.');
const out = path.join(repo, 'build', 'sanitize');
const addon = path.join(out, 'build', 'Release', 'dicap_native.node');
const SANITIZE = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
const OWN_FILES = ['sanitizers.test.ts', 'fuzz.test.ts'];

const asanRuntime = (() => {
  const run = spawnSync('clang', ['-print-file-name=libclang_rt.asan-x86_64.so'], { encoding: 'utf8' });
  const file = run.status === 0 ? run.stdout.trim() : '';
  return path.isAbsolute(file) && fs.existsSync(file) ? file : undefined;
})();
if (!asanRuntime)
  console.log(
    'sanitizers: skipped, clang with its ASan runtime is not installed (apt-get install clang libclang-rt-14-dev)',
  );

// The environment under which Node loads the sanitized addon.
const sanitizedEnv = () => ({
  // Not the outer vitest's own variables: the inner run is a vitest of its own.
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST'))),
  LD_PRELOAD: asanRuntime!,
  // Node itself leaks at exit by design; a leak in the addon is not what this looks for.
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  DICAP_NATIVE_ADDON: addon,
});

describe.skipIf(!asanRuntime)('the native unit tests under ASan and UBSan', () => {
  it('builds the addon with both sanitizers into build/sanitize', () => {
    // A fresh copy of the sources with their times kept, over the last build's objects:
    // node-gyp then recompiles only what changed.
    fs.mkdirSync(path.join(out, 'native'), { recursive: true });
    for (const dir of ['src', 'bpf']) {
      const target = path.join(out, 'native', dir);
      fs.rmSync(target, { recursive: true, force: true });
      if (fs.existsSync(path.join(repo, 'native', dir)))
        fs.cpSync(path.join(repo, 'native', dir), target, { recursive: true, preserveTimestamps: true });
    }
    fs.cpSync(path.join(repo, 'binding.gyp'), path.join(out, 'binding.gyp'), { preserveTimestamps: true });
    if (!fs.existsSync(path.join(out, 'node_modules')))
      fs.symlinkSync(path.join(repo, 'node_modules'), path.join(out, 'node_modules'));
    fs.writeFileSync(
      path.join(out, 'package.json'),
      JSON.stringify({
        name: 'dicap-sanitized-addon',
        private: true,
        scripts: { build: 'node-gyp configure && node-gyp build -j 2' },
      }),
    );
    const build = spawnSync('npm', ['run', 'build'], {
      cwd: out,
      encoding: 'utf8',
      env: {
        ...process.env,
        CC: 'clang',
        CXX: 'clang++',
        CFLAGS: SANITIZE,
        CXXFLAGS: SANITIZE,
        LDFLAGS: '-fsanitize=address,undefined -shared-libsan',
      },
    });
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    // Really the sanitized build, and really loaded with the runtime.
    const probe = spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(addon)}); const maps = require('fs').readFileSync('/proc/self/maps', 'utf8'); console.log(maps.includes('libclang_rt.asan') && maps.includes(${JSON.stringify(addon)}))`,
      ],
      { encoding: 'utf8', env: sanitizedEnv() },
    );
    expect(probe.stdout.trim(), probe.stderr).toBe('true');
  }, 900_000);

  it('passes every native unit test without a sanitizer report', () => {
    const files = fs
      .readdirSync(path.join(repo, 'test', 'native'))
      .filter((f) => f.endsWith('.test.ts') && !OWN_FILES.includes(f))
      .map((f) => path.join('test', 'native', f));
    const results = path.join(out, 'results.json');
    const run = spawnSync(
      process.execPath,
      [
        path.join(repo, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        ...files,
        '--reporter=json',
        `--outputFile=${results}`,
      ],
      { cwd: repo, encoding: 'utf8', env: sanitizedEnv(), maxBuffer: 1 << 28 },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(output).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(run.status, output.slice(-4000)).toBe(0);
    const summary = JSON.parse(fs.readFileSync(results, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
    };
    expect(summary.numFailedTests).toBe(0);
    expect(summary.numPassedTests).toBeGreaterThan(100);
  }, 900_000);
});
