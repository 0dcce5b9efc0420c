// CaptureEngine: the one TypeScript face of the native capture engine (native/src/engine.h).
// Options are validated by the caller's options module; this class adds types, turns the
// engine's thread-safe events into EventEmitter events, and owns the native handle.
import { EventEmitter } from 'node:events';
import { native } from './addon.js';
import type { KernelSelection } from './kernel-selection.js';

/** Bins of CaptureEngine.ipidHistogram(): 256 bins of 256 IPv4 Identification values. */
export const IPID_BINS = 256;

export type SelectionModeName = 'round-robin' | 'ipid' | 'flow';
export type ExportModeName = 'random' | 'flow';

export interface EngineTopology {
  term: number;
  epoch: number;
  mode: SelectionModeName;
  /** Ordered: the k-th ID has position k. */
  nodeIds: number[];
  k0: number;
  k1: number;
  /** Unix ns of the first frame the topology applies to (frame time); 0n = at once. */
  validityStartNs: bigint;
  analyzers: Array<{ ip: string; port: number }>;
  /** 0 keeps the engine's snaplen. */
  snaplen: number;
}

interface EngineOptionsBase {
  nodeId: number;
  /** Authenticates in-band topology frames (SPEC.md §2); absent: none is authentic. */
  clusterKey?: Buffer;
  /** protocol/header-batch.ts deriveBatchKey(cluster key): sign every header batch (SPEC.md §6.5). */
  batchKey?: Buffer;
  /** Export worker threads; 0: each capture thread exports what it owns itself. */
  workers: number;
  /** Bytes kept per frame from the start of the Ethernet header (up to 65535: a record too large for a datagram is sent in fragments). */
  snaplen: number;
  /** UDP payload bytes per header batch (SPEC.md §3). */
  payloadSize: number;
  /** A partial batch leaves after this many microseconds. */
  flushUs: number;
  exportMode: ExportModeName;
  /** Frames each worker queue holds (rounded up to a power of two). */
  queueSlots: number;
  /**
   * tcpdump-style capture filter (libpcap syntax) applied to each frame before selection;
   * rejected frames are counted (`filtered`). In-band topology frames always pass.
   */
  filter?: string;
  /**
   * Pin capture thread k to cpus[k % n] and export worker w to cpus[(K + w) % n], K being
   * the number of capture threads; absent or empty: no pinning.
   */
  cpus?: number[];
  /**
   * Send runs of equal-length header batches to one analyzer as one UDP GSO write
   * (UDP_SEGMENT); default true. Where the kernel refuses, the engine goes back to single
   * sends by itself (counted: gsoFallbacks, and one 'warning' event).
   */
  gso?: boolean;
  /**
   * The selection in the kernel in front of the engine (at XDP on the interface, or as the
   * ring's socket filter with kernelSocketFilter): the engine follows its in-band switches,
   * lets it count round-robin, and counts the frames it dropped as seen and not owned.
   */
  kernelSelection?: KernelSelection;
  kernelSocketFilter?: boolean;
}

export interface LiveSourceOptions {
  interface: string;
  /** TPACKET_V3 block size in bytes (a multiple of the page size). */
  blockSize: number;
  blockCount: number;
  /** The kernel hands over a partly filled block after this many ms. */
  retireMs: number;
  /**
   * Rings (one capture thread each) joined by PACKET_FANOUT (flow hash); default 1. Export
   * workers are split among them (raised to one per capture thread if fewer).
   */
  captureThreads?: number;
  /** A frame whose ring is full goes to another ring of the group (counted: socketRollovers). */
  fanoutRollover?: boolean;
}

export interface FileSourceOptions {
  file: string;
  /** Pace frames by their timestamps instead of reading as fast as possible. */
  realtime: boolean;
}

export type CaptureEngineOptions = EngineOptionsBase & (LiveSourceOptions | FileSourceOptions);

export interface EpochCounters {
  epoch: number;
  seen: number;
  owned: number;
  exported: number;
  dropped: number;
}

/** What each capture thread counts; the engine's totals carry the same fields, summed. */
export interface CaptureThreadCounters {
  frames: number;
  bytes: number;
  /** Rejected by the capture filter before selection. */
  filtered: number;
  socketPackets: number;
  socketDrops: number;
  socketFreezes: number;
  /** Frames this thread's ring was full for and passed on to another ring (--fanout-rollover). */
  socketRollovers: number;
  controlFrames: number;
  unassigned: number;
  seen: number;
  owned: number;
  notOwned: number;
  queued: number;
  queueFullDrops: number;
}

/** Every layer of docs/DESIGN.md "Counters" that the engine sees, cumulative since start. */
export interface EngineCounters extends CaptureThreadCounters {
  /** Times the source failed: a capture file cut off, damaged or shrinking while read, a ring error (each also an 'error' event). */
  sourceErrors: number;
  inbandRejected: number;
  recordsExported: number;
  datagramsSent: number;
  bytesSent: number;
  sendErrors: number;
  recordsSendFailed: number;
  recordsNoAnalyzer: number;
  /** UDP GSO writes that left, each carrying several header-batch datagrams. */
  gsoWrites: number;
  /** Times an export worker found GSO refused by the kernel and went back to single sends. */
  gsoFallbacks: number;
  lastSendErrno: number;
  /** One entry per capture thread, in thread order (a file source has one). */
  captureThreads: CaptureThreadCounters[];
  /** One entry per export stream: an export worker's, or (workers 0) a capture thread's own. */
  workers: Array<{ recordsExported: number; datagramsSent: number; sendErrors: number }>;
  epochs: EpochCounters[];
  position: number;
  epoch: number;
  hasTopology: boolean;
  /** Frames the selection in the kernel dropped as another node's (included in seen and notOwned); 0 without one. */
  kernelNotOwned: number;
  /** Frames the selection in the kernel passed up undecided (a timed switch's guard window, no topology yet). */
  kernelUndecided: number;
}

type NativeEvent =
  | { type: 'topology'; topology: EngineTopology; inband: boolean }
  | { type: 'end' }
  | { type: 'error'; message: string }
  | { type: 'warning'; message: string };

export interface CaptureEngineEvents {
  /** A topology came into force (offered, or from an in-band frame). */
  topology: [topology: EngineTopology, inband: boolean];
  /** File source: every frame was read, classified and exported. */
  end: [];
  /** The source failed (e.g. a corrupt file); `end` follows for files. */
  error: [error: Error];
  /** Something the operator should know that does not stop capture (one line). */
  warning: [message: string];
}

interface NativeEngine {
  start(): void;
  stop(): void;
  offerTopology(topology: EngineTopology): void;
  stageTopology(topology: EngineTopology, token: bigint): void;
  counters(): EngineCounters;
  ipidHistogram(): number[];
}

export class CaptureEngine extends EventEmitter<CaptureEngineEvents> {
  private readonly handle: NativeEngine;

  constructor(options: CaptureEngineOptions) {
    super();
    const { kernelSelection, ...rest } = options;
    this.handle = new native.Engine(
      kernelSelection ? { ...rest, kernelSelection: kernelSelection.handle } : rest,
      (event: NativeEvent) => this.dispatch(event),
    ) as NativeEngine;
  }

  /** Opens the source and starts the threads; throws a one-line error (code DICAP_ERR_SOURCE). */
  start(): void {
    this.handle.start();
  }

  /** The topology takes effect at its validity start (frame time). */
  offerTopology(topology: EngineTopology): void {
    this.handle.offerTopology(topology);
  }

  /**
   * A topology from an authenticated message that comes into force at the in-band frame
   * carrying `token` (SPEC §6.10), here and in the selection in the kernel behind it.
   */
  stageTopology(topology: EngineTopology, token: bigint): void {
    this.handle.stageTopology(topology, token);
  }

  /** Drains, flushes every batch and joins the threads; counters stay readable. Idempotent. */
  stop(): void {
    this.handle.stop();
  }

  counters(): EngineCounters {
    return this.handle.counters();
  }

  /**
   * IPv4 frames this node owned, by Identification value in IPID_BINS bins of 256 IDs
   * (bin i counts IDs 256·i … 256·i+255), cumulative since start; readable after stop().
   * Counted in the hash modes (ipid, flow) only: round-robin parses no frame. Summed over a
   * cluster's nodes it is the link's histogram, since every frame has one owner.
   */
  ipidHistogram(): number[] {
    return this.handle.ipidHistogram();
  }

  private dispatch(event: NativeEvent): void {
    switch (event.type) {
      case 'topology':
        this.emit('topology', event.topology, event.inband);
        break;
      case 'end':
        this.emit('end');
        break;
      case 'error':
        this.emit('error', Object.assign(new Error(event.message), { code: 'DICAP_ERR_SOURCE' }));
        break;
      case 'warning':
        this.emit('warning', event.message);
        break;
    }
  }
}
