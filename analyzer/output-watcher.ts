// Says once, on stderr, when an output changes state: a FIFO's reader went away (records are
// counted unwritten from then on) or came back, a write started failing. The native sink
// keeps writing meanwhile; this only reads its counters (every OUTPUT_CHECK_MS).
import type { AnalyzerOutputCounters, AnalyzerSinkCounters } from '../native/analyzer-sink.js';

function describe(o: AnalyzerOutputCounters, before: string | undefined): string | undefined {
  switch (o.state) {
    case 'no-reader':
      return before === undefined
        ? undefined // start-up said so already
        : `${o.name} has no reader any more; counting unwritten records (${o.recordsUnwritten} so far) until a reader opens it again`;
    case 'open':
      return before === 'no-reader' ? `a reader opened ${o.name}; writing again` : undefined;
    default:
      return undefined;
  }
}

export class OutputWatcher {
  private readonly states = new Map<string, string>();

  constructor(private readonly say: (line: string) => void) {}

  look(counters: AnalyzerSinkCounters): void {
    for (const o of counters.outputs) {
      const before = this.states.get(o.name);
      this.states.set(o.name, o.state);
      if (before === o.state) continue;
      const line = describe(o, before);
      if (line) this.say(line);
    }
  }
}

/** The output(s) that failed, for the one line before stopping. */
export function describeFailed(counters: AnalyzerSinkCounters): string {
  const failed = counters.outputs.filter((o) => o.state === 'failed').map((o) => o.name);
  return failed.length > 0 ? failed.join(', ') : 'the output';
}
