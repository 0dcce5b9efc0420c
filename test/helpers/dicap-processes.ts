// The dicap processes a test file starts, so that none outlives its test.
import { startDicap, type DicapProcess } from '../../lab/dicap-command.js';

export class DicapProcesses {
  private readonly started: DicapProcess[] = [];

  /** Starts `dicap args…` (in `namespace`, if given) and remembers it. */
  start(args: readonly string[], namespace?: string): DicapProcess {
    const p = startDicap(args, namespace);
    this.started.push(p);
    return p;
  }

  /** Kills (SIGKILL) every remembered process still running, waits for all to exit, and forgets them. */
  async killAll(): Promise<void> {
    const all = this.started.splice(0);
    for (const p of all)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
  }
}
