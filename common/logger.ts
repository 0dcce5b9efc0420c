// The log of a long-running component (agent, analyzer, coordinator): one pino logger per
// process, built here from --log-format, writing to stderr (an analyzer's stdout may be the
// pcap stream).
//
//   json  pino's NDJSON, one object a line: {"level":"info","time":"2026-…Z","component":
//         "agent","msg":"…", …fields}. For journald/Loki pipelines that filter on level and
//         fields; the level is its name and the time ISO 8601, so a query or a person reads
//         them without a table.
//   text  (the default) one line per record for people: `2026-…Z INFO  dicap agent: msg`.
//         Fields are left out: the message says the same in words. A message of several
//         lines (the analyzer's final counters) keeps its continuation lines as they are.
//
// Every record is written synchronously, as console.error did: the last lines before an
// exit are never lost, and lines of one process never interleave. Logging is control plane
// only (start, status lines, events); the packet path is native and never logs per frame.
//
// What comes before the logger exists (a refused option, a contradiction between options:
// exit status 2) stays one plain line `dicap <component>: problem; fix`, because the format
// to log in is one of those options.
//
// parseLogLine() is the one reader of both formats; tests use it to get at a record's
// message, and the lab reads text lines with unanchored patterns (it starts its processes
// with --log-format text).
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const DEFAULT_LOG_FORMAT: LogFormat = 'text';

export type { Logger };

/** The levels dicap logs at: status and events are info, a degraded state warn, a failure error. */
export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A record as both formats carry it; json lines have the structured fields too. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  component: string;
  msg: string;
  readonly [field: string]: unknown;
}

/** The widest level name, so messages of every level start in the same column. */
const LEVEL_WIDTH = Math.max(...LOG_LEVELS.map((l) => l.length));

export function formatTextLine(r: LogRecord): string {
  return `${r.time} ${r.level.toUpperCase().padEnd(LEVEL_WIDTH)} dicap ${r.component}: ${r.msg}`;
}

const TEXT_LINE = new RegExp(
  `^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z) (${LOG_LEVELS.map((l) => l.toUpperCase()).join('|')}) +dicap ([a-z-]+): (.*)$`,
  's',
);

/** The record of one line in either format; undefined for anything else (a continuation line, a plain refusal). */
export function parseLogLine(line: string): LogRecord | undefined {
  if (line.startsWith('{')) {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      return undefined;
    }
    const record = r as Partial<LogRecord> | null;
    return typeof record?.time === 'string' &&
      LOG_LEVELS.includes(record.level as LogLevel) &&
      typeof record.component === 'string' &&
      typeof record.msg === 'string'
      ? (record as LogRecord)
      : undefined;
  }
  const m = TEXT_LINE.exec(line);
  if (!m) return undefined;
  return { time: m[1]!, level: m[2]!.toLowerCase() as LogLevel, component: m[3]!, msg: m[4]! };
}

/** Receives each formatted line (with its newline); default: stderr, written synchronously. */
export interface LogSink {
  write(line: string): void;
}

function stderrSink(): LogSink {
  return pino.destination({ dest: 2, sync: true });
}

/**
 * The logger of `component` ("agent", "analyzer", "coordinator") in `format`. Call it with
 * a message, or with fields and a message: `log.info({ counters }, line)`.
 */
export function createLogger(component: string, format: LogFormat, sink: LogSink = stderrSink()): Logger {
  // pino always serialises to JSON; the text format reads its own record back (a few
  // microseconds per line, on the control plane only) instead of a second serialiser.
  const destination: DestinationStream =
    format === 'json'
      ? sink
      : { write: (json: string) => sink.write(`${formatTextLine(JSON.parse(json) as LogRecord)}\n`) };
  return pino(
    {
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
