// AnalyzerSink: the one TypeScript face of the analyzer's native receive path
// (native/src/analyzer_sink.h). A native thread receives header-batch datagrams over UDP,
// checks them (and their MAC, given a batch key), admits only the topology's nodes,
// accounts each (node, stream) sequence, reassembles records split over datagrams and
// writes every record to its outputs (capture files, FIFOs, standard output or TAP
// interfaces; native/src/frame_outputs.h); JavaScript starts it, stops it, asks for
// reopens, passes it topologies and reads its counters, never touching a packet.
import net from 'node:net';
import { DicapError } from '../common/errors.js';
import { HEADER_BATCH_ERROR_CODES, type HeaderBatchErrorCode } from '../protocol/header-batch.js';
import { native } from './addon.js';

/** Requested socket receive buffer: absorbs bursts from many agents (SO_RCVBUFFORCE as root, else capped by net.core.rmem_max). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 32 * 1024 * 1024;
/** Longest time a record waits in the pcap buffer, so a `| tcpdump -r -` reader sees frames promptly. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;
/** Capture file output buffer; a full buffer is written at once. */
export const DEFAULT_OUTPUT_BUFFER_BYTES = 1024 * 1024;
/** Largest record a capture file holds; also what "whole frames" means. */
export const MAX_SNAPLEN = 65535;
/** Most outputs of --split. */
export const MAX_SPLIT = 64;
/** Longest interface name Linux takes (IFNAMSIZ − 1). */
export const MAX_INTERFACE_NAME = 15;

export type CaptureFormat = 'pcap' | 'pcapng';
export const CAPTURE_FORMATS: readonly CaptureFormat[] = ['pcap', 'pcapng'];
export type OutputKind = 'file' | 'tap';

/** Default bound on nodes with state when no topology restricts them (SPEC.md §6.5). */
export const DEFAULT_MAX_NODES = 1024;
/** A record split over datagrams whose pieces stop coming for this long is counted lost. */
export const DEFAULT_REASSEMBLY_TIMEOUT_MS = 1000;

/** Why a datagram was dropped, beyond the decoder's reasons (SPEC.md §6.5). */
export const SINK_DROP_REASONS = [
  'OVERSIZED', // larger than 64 KiB, truncated by the kernel
  'UNAUTHENTICATED', // no MAC, while the analyzer has a cluster key
  'BAD_MAC', // the MAC does not verify
  'UNKNOWN_NODE', // its node is not in the topology
  'NODE_LIMIT', // no topology, and the node table is full of recently heard nodes
  'STREAM_LIMIT', // its node already has the most streams allowed
] as const;
/** Why a datagram was dropped: protocol/header-batch.ts's codes, then the sink's own. */
export type MalformedReason = HeaderBatchErrorCode | (typeof SINK_DROP_REASONS)[number];
export const MALFORMED_REASONS: readonly MalformedReason[] = Object.freeze([
  ...HEADER_BATCH_ERROR_CODES,
  ...SINK_DROP_REASONS,
]);

/**
 * open: writing. reader-closed: standard output's reader went away (EPIPE), an orderly end.
 * failed: a write failed (outputError says why). stalled: on stop, the reader took nothing
 * for 2 s, so the rest was given up. closed: stopped after a normal run. no-reader: a FIFO
 * nobody reads (yet, or any more); it is reopened as soon as a reader comes.
 * Records that can no longer be written are counted in recordsUnwritten.
 */
export type OutputState = 'open' | 'reader-closed' | 'failed' | 'stalled' | 'closed' | 'no-reader';
export const OUTPUT_STATES: readonly OutputState[] = [
  'open',
  'reader-closed',
  'failed',
  'stalled',
  'closed',
  'no-reader',
];

export interface AnalyzerSinkOptions {
  /** IPv4 address to bind (resolve host names before). */
  host: string;
  /** UDP port; 0 lets the kernel pick one (see start()). */
  port: number;
  /** 'file' (default): `output` is a path (a capture file, a FIFO, a device) or '-' for standard output. 'tap': a TAP interface name. */
  outputKind?: OutputKind;
  /** Capture file path (an existing capture is moved aside to PATH.N, never overwritten), '-', or a TAP name. */
  output: string;
  /** Outputs chosen by the symmetric flow hash (default 1): names get the index (tap0…, cap0.pcap…). */
  split?: number;
  format?: CaptureFormat;
  /** Records longer than this are cut to it; every file header claims it (default 65535). */
  snaplen?: number;
  /** Start a new file every this many seconds (0: never). */
  rotateSeconds?: number;
  /** Start a new file when the current one reaches this many megabytes (10^6 bytes; 0: never). */
  rotateMegabytes?: number;
  /** Keep at most this many files of this run, the current one included (0: all). */
  rotateCount?: number;
  receiveBufferBytes?: number;
  flushIntervalMs?: number;
  outputBufferBytes?: number;
  /** Merge the nodes' frames into time-stamp order within this many milliseconds (0: arrival order). */
  reorderMs?: number;
  /** protocol/header-batch.ts deriveBatchKey(cluster key): only datagrams with a valid MAC count. */
  batchKey?: Buffer;
  /** Nodes with state at once while no topology restricts them (default DEFAULT_MAX_NODES). */
  maxNodes?: number;
  reassemblyTimeoutMs?: number;
}

/** One output (of several with split). */
export interface AnalyzerOutputCounters {
  /** Path, '-' or TAP name. */
  name: string;
  state: OutputState;
  error: string | null;
  recordsWritten: number;
  recordsUnwritten: number;
  bytesWritten: number;
  writeErrors: number;
  /** Files (or FIFO readers, or the TAP) opened so far: rotations and reopens count. */
  filesOpened: number;
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
  /** Good records in them (a record split over datagrams counts once, when whole). */
  records: number;
  /** UDP payload bytes of those datagrams (compare dicap_agent_exported_bytes_total). */
  bytes: number;
  /** Records skipped as impossible (ts_nsec ≥ 10^9 or cap_len > wire_len); the rest of their datagram is kept. */
  badRecords: number;
  /** Sequence numbers more than 2^20 ahead, taken as a new run rather than as loss. */
  seqJumps: number;
  /** Datagrams revealed missing by sequence gaps (monotonic). Records lost with them are unknown: a datagram holds a varying number. */
  gapDatagrams: number;
  /** Datagrams that arrived after being counted in a gap, and were written (monotonic). */
  lateDatagrams: number;
  /** Export loss so far: gapDatagrams − lateDatagrams (may fall when late datagrams arrive). */
  lostDatagrams: number;
  /** Datagrams seen before (or older than the 1024-datagram window): not written again. */
  duplicateDatagrams: number;
  duplicateRecords: number;
  /** Sequence starts: the first datagram of each stream, every sender restart (a seq already passed whose frames were all captured after the stream's newest, SPEC §6.1 c) and every jump. */
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
  /** Good records in accepted datagrams (duplicates included; a split record once, when whole). */
  records: number;
  /** Records skipped as impossible, in datagrams otherwise kept. */
  badRecords: number;
  /** Dropped datagrams by reason (malformed, unauthentic, unknown node, limits): nothing of them is written. */
  malformed: Record<MalformedReason, number>;
  /** Records put back together from fragments. */
  reassembledRecords: number;
  /** Records split over datagrams that never became whole, by why. */
  reassemblyLost: { sequence: number; timeout: number; memory: number };
  /** Bytes of partly received records held now. */
  reassemblyBytes: number;
  /** Silent nodes forgotten to make room (only without a topology). */
  nodesEvicted: number;
  /** Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL, reported with the next datagram received). */
  socketDrops: number;
  /** Receives that held several datagrams merged by UDP GRO (each datagram still counts in `datagrams`). */
  coalescedReceives: number;
  /** The kernel accepted UDP_GRO on the socket (Linux 5.0): runs of datagrams arrive in one receive. */
  gro: boolean;
  /** Records whose bytes all reached an output (sums over the outputs from here to filesOpened). */
  recordsWritten: number;
  /** Records that will never reach it (output ended, failed or stalled). */
  recordsUnwritten: number;
  /** Bytes written to the output, pcap file header included. */
  bytesWritten: number;
  /** Failed write() calls; a reader closing the pipe is not an error (see outputState). */
  writeErrors: number;
  /** The most serious state of the outputs (failed, stalled, reader-closed, no-reader, open, closed). */
  outputState: OutputState;
  /** strerror of the write error when outputState is 'failed'. */
  outputError: string | null;
  filesOpened: number;
  /** With reorderMs: records that came later than the window and were written out of order. */
  reorderLateRecords: number;
  /** With reorderMs: records waiting in the window now. */
  reorderHeldRecords: number;
  outputs: AnalyzerOutputCounters[];
  /** Receive buffer the kernel granted (bytes, same units as the request). */
  receiveBufferBytes: number;
  /** By node ID. */
  nodes: AnalyzerNodeCounters[];
}

interface NativeAnalyzerSink {
  start(): { port: number; notices: string[] };
  stop(): void;
  reopen(): void;
  counters(): Omit<AnalyzerSinkCounters, 'nodes'> & { nodes: Omit<AnalyzerNodeCounters, 'lostDatagrams'>[] };
  setTopologyNodes(nodeIds: number[]): void;
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
      throw new DicapError(
        'DICAP_ERR_ARGUMENT',
        'analyzer sink: output is empty; give a file path, - or a TAP name',
      );
    const resolved = {
      host: options.host,
      port: options.port,
      outputKind: options.outputKind ?? 'file',
      output: options.output,
      split: options.split ?? 1,
      format: options.format ?? 'pcap',
      snaplen: options.snaplen ?? MAX_SNAPLEN,
      rotateSeconds: options.rotateSeconds ?? 0,
      rotateMegabytes: options.rotateMegabytes ?? 0,
      rotateCount: options.rotateCount ?? 0,
      receiveBufferBytes: options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
      flushIntervalMs: options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      outputBufferBytes: options.outputBufferBytes ?? DEFAULT_OUTPUT_BUFFER_BYTES,
      reorderMs: options.reorderMs ?? 0,
      batchKey: options.batchKey,
      maxNodes: options.maxNodes ?? DEFAULT_MAX_NODES,
      reassemblyTimeoutMs: options.reassemblyTimeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS,
    };
    checkInteger('port', resolved.port, 0, 65535);
    checkInteger('split', resolved.split, 1, MAX_SPLIT);
    checkInteger('snaplen', resolved.snaplen, 1, MAX_SNAPLEN);
    checkInteger('rotateSeconds', resolved.rotateSeconds, 0, 2 ** 30);
    checkInteger('rotateMegabytes', resolved.rotateMegabytes, 0, 2 ** 20);
    checkInteger('rotateCount', resolved.rotateCount, 0, 2 ** 20);
    checkInteger('receiveBufferBytes', resolved.receiveBufferBytes, 4096, 2 ** 30);
    checkInteger('flushIntervalMs', resolved.flushIntervalMs, 1, 60000);
    checkInteger('outputBufferBytes', resolved.outputBufferBytes, 4096, 2 ** 28);
    checkInteger('reorderMs', resolved.reorderMs, 0, 60000);
    if (!CAPTURE_FORMATS.includes(resolved.format))
      throw new DicapError(
        'DICAP_ERR_ARGUMENT',
        `analyzer sink: format ${resolved.format} is not pcap or pcapng`,
      );
    checkInteger('maxNodes', resolved.maxNodes, 1, 2 ** 20);
    checkInteger('reassemblyTimeoutMs', resolved.reassemblyTimeoutMs, 1, 60000);
    if (resolved.batchKey !== undefined && resolved.batchKey.length !== 32)
      throw new DicapError('DICAP_ERR_ARGUMENT', 'analyzer sink: batchKey must be 32 bytes (deriveBatchKey)');
    const Native = native.AnalyzerSink as new (o: typeof resolved) => NativeAnalyzerSink;
    this.handle = new Native(resolved);
  }

  /**
   * Binds the socket, opens the outputs (after binding, so a port in use never touches a
   * file), writes the capture file headers and starts the receive thread. Once only.
   * Throws an Error with `code`: DICAP_ERR_ADDRESS_IN_USE, DICAP_ERR_SINK_OUTPUT (cannot
   * open an output), DICAP_ERR_SINK_START (another socket call failed), DICAP_ERR_STATE.
   * Returns the bound port and lines for a person (a capture moved aside, a TAP created, a
   * FIFO without reader).
   */
  start(): { port: number; notices: string[] } {
    const { port, notices } = this.handle.start();
    this.boundPort = port;
    return { port, notices };
  }

  /** SIGHUP: every capture file output starts a new file, the current one moved aside to PATH.N. */
  reopen(): void {
    this.handle.reopen();
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

  /**
   * From now on accept header batches only from these capture nodes (the topology's); nodes
   * dropped since the last call are still accepted for 10 s, for datagrams in flight.
   */
  setTopologyNodes(nodeIds: readonly number[]): void {
    this.handle.setTopologyNodes([...nodeIds]);
  }

  counters(): AnalyzerSinkCounters {
    const c = this.handle.counters();
    return { ...c, nodes: c.nodes.map((n) => ({ ...n, lostDatagrams: n.gapDatagrams - n.lateDatagrams })) };
  }
}
