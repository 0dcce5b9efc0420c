// The last line of defence of a long-running process: a timer or socket handler that throws
// must not end the process (an exception in a setInterval callback or an 'message' listener is
// otherwise uncaught). guarded() wraps such a handler: a throw is counted, logged in one line,
// and the process goes on with the next tick or datagram. Each fault is a bug to fix; the
// count is served as a metric so it is noticed.
import { errorMessage } from './errors.js';

export const handlerFaults = {
  /** Handler calls that threw, since the process started. */
  count: 0,
  /** Where the one-line report goes: each component routes it to its log (common/logger.ts) as an error. */
  log: (line: string): void => console.error(line),
};

/** `handler`, but a throw is counted and logged instead of ending the process. */
export function guarded<A extends unknown[]>(
  what: string,
  handler: (...args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    try {
      handler(...args);
    } catch (error) {
      handlerFaults.count++;
      handlerFaults.log(`${what} failed: ${errorMessage(error)} (counted; carrying on)`);
    }
  };
}
