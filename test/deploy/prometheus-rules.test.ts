// The shipped Prometheus rules: valid (`promtool check rules`), loaded by the compose
// Prometheus (prometheus.yml names them, compose.yaml mounts them beside it, `promtool check
// config` follows the reference), and DicapNoActiveCoordinator fires with no active
// coordinator, also when every coordinator is down and no series is left
// (`promtool test rules`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const PROMETHEUS = path.resolve('docker', 'prometheus');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

function promtool(args: string[], cwd = PROMETHEUS): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe.skipIf(!hasPromtool)('docker/prometheus rules (needs promtool: apt-get install prometheus)', () => {
  it('promtool check rules passes on the shipped rules', () => {
    const check = promtool(['check', 'rules', 'dicap.rules.yml']);
    expect(check.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status, check.output).toBe(0);
  });

  it('prometheus.yml loads them, and compose.yaml mounts them where it looks', () => {
    const config = fs.readFileSync(path.join(PROMETHEUS, 'prometheus.yml'), 'utf8');
    expect(config).toMatch(/^rule_files:\n {2}- dicap\.rules\.yml$/m);
    const compose = fs.readFileSync(path.resolve('docker', 'compose.yaml'), 'utf8');
    expect(compose).toContain('./prometheus/dicap.rules.yml:/etc/prometheus/dicap.rules.yml:ro');
    // promtool resolves rule_files against the config's directory, as Prometheus does.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-prometheus-'));
    try {
      for (const f of ['prometheus.yml', 'dicap.rules.yml'])
        fs.copyFileSync(path.join(PROMETHEUS, f), path.join(dir, f));
      const check = promtool(['check', 'config', 'prometheus.yml'], dir);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toMatch(/dicap\.rules\.yml[\s\S]*SUCCESS: \d+ rules found/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DicapNoActiveCoordinator fires with no active coordinator, also with every coordinator down', () => {
    const test = promtool(['test', 'rules', 'dicap.rules.test.yml']);
    expect(test.status, test.output).toBe(0);
  });
});
