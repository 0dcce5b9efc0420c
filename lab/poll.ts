// The one polling loop of the lab: ask `probe` until it returns a value, give up after a
// deadline with one line naming what was awaited. Everything that waits on processes,
// summary files or HTTP endpoints in the lab, its tests and benchmarks goes through here.
import { DicapError } from '../common/errors.js';

export const DEFAULT_POLL_MS = 100;

export interface PollOptions {
  /** Between probes (default 100 ms). */
  intervalMs?: number;
  /** More words for the timeout message, such as the end of every process's log. */
  detail?: () => string;
}

/**
 * Resolves with the first value `probe` returns that is not undefined. A probe that throws
 * ends the wait with its error (a process ended, say). Rejects with DICAP_ERR_LAB_TIMEOUT
 * after `timeoutMs`, naming `what`.
 */
export async function poll<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  options: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const detail = options.detail?.();
      throw new DicapError(
        'DICAP_ERR_LAB_TIMEOUT',
        `timed out after ${timeoutMs / 1000} s waiting until ${what}${detail ? `; ${detail}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? DEFAULT_POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
