// A component starts by opening things one after another (its sockets or capture ring, the
// summary file, the metrics port, the coordinator link) and then dropping its privileges.
// When a step fails, everything already open is closed again, the problem is logged in one
// line, and the component exits with the code of that step.
import type { CapabilityName } from '../native/privileges.js';
import { runAsUser } from './drop-privileges.js';
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

  /**
   * The last step, once everything privileged is open: becomes `user` (--user, when given)
   * keeping only `keep`, and says so in the log. Resolves with `code` to exit with when that
   * fails (everything opened closed, the problem logged), undefined when it went well.
   */
  async dropPrivileges(
    user: string | undefined,
    keep: readonly CapabilityName[],
    code: number,
  ): Promise<number | undefined> {
    try {
      const dropped = runAsUser(user, keep);
      if (dropped) this.log.info(dropped);
      return undefined;
    } catch (error) {
      return this.failed(error, code);
    }
  }
}
