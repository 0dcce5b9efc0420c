// Logs once when an output changes state: a FIFO's reader went away (records are counted
// unwritten from then on: a warning) or came back. The native sink
// keeps writing meanwhile; this only reads its counters (every OUTPUT_CHECK_MS).
import type { Logger } from '../common/logger.js';
import type { AnalyzerOutputCounters, AnalyzerSinkCounters } from '../native/analyzer-sink.js';

type OutputLog = Pick<Logger, 'info' | 'warn'>;

function report(log: OutputLog, o: AnalyzerOutputCounters, before: string | undefined): void {
  const output = { name: o.name, state: o.state };
  switch (o.state) {
    case 'no-reader':
      // At start-up the analyzer said so already.
      if (before !== undefined)
        log.warn(
          { output },
          `${o.name} has no reader any more; counting unwritten records (${o.recordsUnwritten} so far) until a reader opens it again`,
        );
      return;
    case 'open':
      if (before === 'no-reader') log.info({ output }, `a reader opened ${o.name}; writing again`);
      return;
  }
}

export class OutputWatcher {
  private readonly states = new Map<string, string>();

  constructor(private readonly log: OutputLog) {}

  look(counters: AnalyzerSinkCounters): void {
    for (const o of counters.outputs) {
      const before = this.states.get(o.name);
      this.states.set(o.name, o.state);
      if (before === o.state) continue;
      report(this.log, o, before);
    }
  }
}

/** The output(s) that failed, for the one line before stopping. */
export function describeFailed(counters: AnalyzerSinkCounters): string {
  const failed = counters.outputs.filter((o) => o.state === 'failed').map((o) => o.name);
  return failed.length > 0 ? failed.join(', ') : 'the output';
}
