// `--summary FILE` of the agent and the analyzer: their counters as JSON, written when they
// start, rewritten with every status line (the lab and scripts read live counters from it)
// and at exit. Each write replaces the file whole (temporary file + rename), so a reader
// never sees half of one.
import fs from 'node:fs';
import { DicapError, errorCode, errorMessage } from './errors.js';

/** `T`: the file's contract, declared by the component that writes it. */
export class SummaryFile<T> {
  private failing = false;

  /** `path` undefined: no summary was asked for, and writes do nothing. */
  constructor(
    readonly path: string | undefined,
    /** Logs a warning (a periodic rewrite failed). */
    private readonly warn: (line: string) => void,
  ) {}

  /** Throws DicapError('DICAP_ERR_SUMMARY') with one line naming the file and the fix. */
  write(value: T): void {
    if (this.path === undefined) return;
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(temporary, JSON.stringify(value, null, 2) + '\n');
      fs.renameSync(temporary, this.path);
    } catch (error) {
      throw new DicapError(
        'DICAP_ERR_SUMMARY',
        `cannot write --summary ${this.path} (${errorCode(error) ?? errorMessage(error)}); check that its directory exists and is writable`,
      );
    }
  }

  /** For the periodic rewrite: a failure is said once per run of failures, and work goes on. */
  writeOrWarn(value: T): void {
    try {
      this.write(value);
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.warn(errorMessage(error));
      this.failing = true;
    }
  }
}
