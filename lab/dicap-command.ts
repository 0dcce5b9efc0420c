// Runs the real `dicap` command (the compiled dist/bin/dicap.js) as a child process,
// optionally inside a network namespace, and collects its output: how the lab, the
// benchmarks and the tests start agents and analyzers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { poll } from './poll.js';

/** The compiled command, found from this file in the sources (lab/) or in dist/lab/. */
export const DICAP = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'bin', 'dicap.js');
})();

export interface DicapProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Resolves when stderr has printed a line matching `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function startDicap(args: readonly string[], namespace?: string): DicapProcess {
  const argv = namespace
    ? (['ip', ['netns', 'exec', namespace, process.execPath, DICAP, ...args]] as const)
    : ([process.execPath, [DICAP, ...args]] as const);
  const child = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStderr(pattern, timeoutMs = 15_000) {
      await poll(
        `dicap ${args.join(' ')} printed ${pattern} on stderr`,
        () => {
          if (pattern.test(err)) return true;
          if (child.exitCode !== null)
            throw new Error(
              `dicap ${args.join(' ')} exited (${child.exitCode}) before printing ${pattern}: ${err}`,
            );
          return undefined;
        },
        timeoutMs,
        { intervalMs: 20, detail: () => `it printed: ${err}` },
      );
    },
  };
}

/** Runs `dicap args…` to completion. */
export async function runDicap(
  args: readonly string[],
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startDicap(args);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** An option's value: written as given (numbers in decimal); true is a flag without a value. */
export type DicapOptionValue = string | number | true;

/**
 * `--name value` for each of `options`, in their order (a flag alone for true): a command
 * line written as the record it is, one option a line, e.g.
 * `['agent', ...dicapOptions({ pcap: file, 'node-id': 1, nodes: 1, 'status-interval': 0 })]`.
 */
export function dicapOptions(options: Readonly<Record<string, DicapOptionValue>>): string[] {
  return Object.entries(options).flatMap(([name, value]) =>
    value === true ? [`--${name}`] : [`--${name}`, String(value)],
  );
}
