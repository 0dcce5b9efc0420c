// A component starts by opening things one after another (its sockets or capture ring, the
// summary file, the metrics port, the coordinator link) and then dropping its privileges.
// When a step fails, everything already open is closed again, the problem is logged in one
// line, and the component exits with the code of that step.
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export class Startup {
  private readonly closers: Array<() => unknown> = [];

  constructor(private readonly log: Logger) {}

  /** Something is open from now on: `close` closes it if a later step fails. */
  opened(close: () => unknown): void {
    this.closers.push(close);
  }

  /**
   * A step failed: closes everything opened, in the order it was opened (the closes that
   * take time run side by side), logs `error` and resolves with `code` to exit with.
   */
  async failed(error: unknown, code: number): Promise<number> {
    await Promise.all(this.closers.map((close) => close()));
    this.log.error(errorMessage(error));
    return code;
  }
}
