// The formatters' verdict on the tree (`bash .ci/format --check`): every TypeScript and
// JavaScript file as Prettier writes it, every C/C++ file as clang-format writes it. Fix a
// failure with `npm run format`.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const clangFormat = spawnSync('clang-format', ['--version']).status === 0;

describe.skipIf(!clangFormat)('the source tree (needs clang-format)', () => {
  it('is formatted as .prettierrc.json and .clang-format say', () => {
    const check = spawnSync('bash', ['.ci/format', '--check'], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 120_000);
});

if (!clangFormat)
  console.log('skipping the format check: clang-format is not installed (apt-get install clang-format)');
