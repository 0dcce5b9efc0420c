// AnalyzerSink: the one TypeScript face of the analyzer's native receive path
// (native/src/analyzer_sink.h). A native thread receives header-batch datagrams over UDP,
// checks them, accounts each (node, stream) sequence and writes every record as pcap;
// JavaScript starts it, stops it and reads its counters, never touching a packet.
import net from 'node:net';
import { DicapError } from '../common/errors.js';
import { HEADER_BATCH_ERROR_CODES, type HeaderBatchErrorCode } from '../protocol/header-batch.js';
import { native } from './addon.js';

/** Requested socket receive buffer: absorbs bursts from many agents (SO_RCVBUFFORCE as root, else capped by net.core.rmem_max). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 32 * 1024 * 1024;
/** Longest time a record waits in the pcap buffer, so a `| tcpdump -r -` reader sees frames promptly. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;
/** pcap output buffer; a full buffer is written at once. */
export const DEFAULT_OUTPUT_BUFFER_BYTES = 1024 * 1024;

/** Why a datagram was rejected: protocol/header-batch.ts's codes, plus OVERSIZED (larger than 64 KiB, truncated by the kernel). */
export type MalformedReason = HeaderBatchErrorCode | 'OVERSIZED';
export const MALFORMED_REASONS: readonly MalformedReason[] = Object.freeze([
  ...HEADER_BATCH_ERROR_CODES,
  'OVERSIZED',
]);

/**
 * open: writing. reader-closed: the pipe's reader went away (EPIPE), an orderly end.
 * failed: a write failed (outputError says why). stalled: on stop, the reader took nothing
 * for 2 s, so the rest was given up. closed: stopped after a normal run.
 * Records that can no longer be written are counted in recordsUnwritten.
 */
export type OutputState = 'open' | 'reader-closed' | 'failed' | 'stalled' | 'closed';

export interface AnalyzerSinkOptions {
  /** IPv4 address to bind (resolve host names before). */
  host: string;
  /** UDP port; 0 lets the kernel pick one (see start()). */
  port: number;
  /** pcap file to create (truncated if it exists), or '-' for standard output. */
  output: string;
  receiveBufferBytes?: number;
  flushIntervalMs?: number;
  outputBufferBytes?: number;
}

/** Sequence accounting of one sending node, summed over its streams (export workers). */
export interface AnalyzerNodeCounters {
  nodeId: number;
  /** Epoch of the node's most recent in-sequence datagram. */
  lastEpoch: number;
  /** Distinct streams seen. */
  streams: number;
  /** Valid datagrams received, duplicates included. */
  datagrams: number;
  /** Records in them. */
  records: number;
  /** Datagrams revealed missing by sequence gaps (monotonic). Records lost with them are unknown: a datagram holds a varying number. */
  gapDatagrams: number;
  /** Datagrams that arrived after being counted in a gap, and were written (monotonic). */
  lateDatagrams: number;
  /** Export loss so far: gapDatagrams − lateDatagrams (may fall when late datagrams arrive). */
  lostDatagrams: number;
  /** Datagrams seen before (or older than the 1024-datagram window): not written again. */
  duplicateDatagrams: number;
  duplicateRecords: number;
  /** Sequence starts: the first datagram of each stream, and every sender restart (seq back to 0, or a new epoch with a lower seq). */
  runs: number;
}

/**
 * Cumulative since start(); read any time, also after stop(). After stop():
 * records = recordsWritten + recordsUnwritten + Σ nodes.duplicateRecords.
 */
export interface AnalyzerSinkCounters {
  /** Datagrams received, malformed ones included. */
  datagrams: number;
  /** UDP payload bytes received. */
  bytes: number;
  /** Records in valid datagrams. */
  records: number;
  /** Rejected datagrams by reason (skipped; nothing of them is written). */
  malformed: Record<MalformedReason, number>;
  /** Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL, reported with the next datagram received). */
  socketDrops: number;
  /** Records whose bytes all reached the output. */
  recordsWritten: number;
  /** Records that will never reach it (output ended, failed or stalled). */
  recordsUnwritten: number;
  /** Bytes written to the output, pcap file header included. */
  bytesWritten: number;
  /** Failed write() calls; a reader closing the pipe is not an error (see outputState). */
  writeErrors: number;
  outputState: OutputState;
  /** strerror of the write error when outputState is 'failed'. */
  outputError: string | null;
  /** Receive buffer the kernel granted (bytes, same units as the request). */
  receiveBufferBytes: number;
  /** By node ID. */
  nodes: AnalyzerNodeCounters[];
}

interface NativeAnalyzerSink {
  start(): { port: number };
  stop(): void;
  counters(): Omit<AnalyzerSinkCounters, 'nodes'> & { nodes: Omit<AnalyzerNodeCounters, 'lostDatagrams'>[] };
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DicapError(
      'DICAP_ERR_ARGUMENT',
      `analyzer sink: ${name} ${value} must be an integer in ${min}..${max}`,
    );
  }
}

export class AnalyzerSink {
  private readonly handle: NativeAnalyzerSink;
  private boundPort: number | undefined;

  /** Checks the options; opens nothing yet. Throws DicapError('DICAP_ERR_ARGUMENT') on misuse. */
  constructor(options: AnalyzerSinkOptions) {
    if (!net.isIPv4(options.host)) {
      throw new DicapError(
        'DICAP_ERR_ARGUMENT',
        `analyzer sink: host "${options.host}" is not an IPv4 address; resolve host names first`,
      );
    }
    if (options.output === '')
      throw new DicapError('DICAP_ERR_ARGUMENT', 'analyzer sink: output is empty; give a file path or -');
    const resolved = {
      host: options.host,
      port: options.port,
      output: options.output,
      receiveBufferBytes: options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
      flushIntervalMs: options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      outputBufferBytes: options.outputBufferBytes ?? DEFAULT_OUTPUT_BUFFER_BYTES,
    };
    checkInteger('port', resolved.port, 0, 65535);
    checkInteger('receiveBufferBytes', resolved.receiveBufferBytes, 4096, 2 ** 30);
    checkInteger('flushIntervalMs', resolved.flushIntervalMs, 1, 60000);
    checkInteger('outputBufferBytes', resolved.outputBufferBytes, 4096, 2 ** 28);
    const Native = native.AnalyzerSink as new (o: typeof resolved) => NativeAnalyzerSink;
    this.handle = new Native(resolved);
  }

  /**
   * Binds the socket, creates the output (after binding, so a port in use never truncates
   * a file), writes the pcap file header and starts the receive thread. Once only.
   * Throws an Error with `code`: DICAP_ERR_ADDRESS_IN_USE, DICAP_ERR_SINK_OUTPUT (cannot
   * open the output), DICAP_ERR_SINK_START (another socket call failed), DICAP_ERR_STATE.
   * Returns the bound port.
   */
  start(): { port: number } {
    const { port } = this.handle.start();
    this.boundPort = port;
    return { port };
  }

  /** The bound UDP port, once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /**
   * Reads what is already queued on the socket (for at most 1 s), writes it, flushes and
   * closes the output, and joins the thread. Blocks the caller meanwhile (at most about
   * 3 s when a pipe reader stopped reading). Safe to call twice, or before start().
   */
  stop(): void {
    this.handle.stop();
  }

  counters(): AnalyzerSinkCounters {
    const c = this.handle.counters();
    return { ...c, nodes: c.nodes.map((n) => ({ ...n, lostDatagrams: n.gapDatagrams - n.lateDatagrams })) };
  }
}
