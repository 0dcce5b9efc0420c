// TrafficGenerator: the one TypeScript face of the native traffic generator
// (native/src/traffic_gen.h). Frames are made and sent on the generator's own thread;
// this class checks options, turns the thread's events into EventEmitter events and owns
// the native handle. What the traffic looks like is described in native/src/traffic_model.h.
import { EventEmitter } from 'node:events';
import { badConfig, DicapError } from '../common/errors.js';
import { native } from './addon.js';

/** Relative weights of the IPv4 IP-ID behaviours, drawn per sending endpoint of a connection. */
export interface IpIdMix {
  /** Per-connection counter, +1 per datagram. */
  counter: number;
  /** A random ID per datagram. */
  random: number;
  /** ID 0 with DF set. */
  zeroDf: number;
}

export const DEFAULT_IPID_MIX: Readonly<IpIdMix> = Object.freeze({ counter: 60, random: 20, zeroDf: 20 });
export const DEFAULT_FLOWS = 1000;
export const DEFAULT_SEED = 1;
export const MAX_FLOWS = 1_000_000;

interface GeneratorOptionsBase {
  /** Frames per second; 0 (or absent) = as fast as possible. */
  rate?: number;
  /** Stop after this many frames; 0 (or absent) = no limit. */
  count?: number;
  /** Stop after this many milliseconds; with `write` and a rate, the span of the time stamps. */
  durationMs?: number;
  /** Concurrent connections (1..MAX_FLOWS). */
  flows?: number;
  /** The same seed gives the same frames, byte for byte. */
  seed?: number;
  ipidMix?: IpIdMix;
}

export interface InterfaceOutput {
  /** Send through an AF_PACKET socket on this interface (root or CAP_NET_RAW). */
  interface: string;
  /** Bypass the interface's qdisc (default true); see native/src/traffic_sender.h. */
  qdiscBypass?: boolean;
}

export interface FileOutput {
  /** Write a classic nanosecond pcap file instead, time stamps spaced by the rate. */
  write: string;
}

export type TrafficGeneratorOptions = GeneratorOptionsBase & (InterfaceOutput | FileOutput);

/** Cumulative since start(); frozen once the run ends. */
export interface TrafficGeneratorCounters {
  /** Frames sent (accepted by the interface) or written to the file. */
  frames: number;
  /** Bytes of those frames, Ethernet header to payload, without FCS. */
  bytes: number;
  /** Send attempts the kernel refused for a full queue (ENOBUFS, EAGAIN, ENOMEM); each was retried. */
  sendRefusals: number;
  /** Frames given up after repeated refusals: neither sent nor written. */
  framesFailed: number;
  /** errno of the last refusal, 0 if none or unknown. */
  lastErrno: number;
  /** Nanoseconds since start(), until the run ended. */
  elapsedNs: number;
  /** CPU nanoseconds of the generator thread (includes receive work a veth peer does in its softirq). */
  cpuNs: number;
  running: boolean;
}

export interface TrafficGeneratorEvents {
  /** The run ended by itself: count or duration reached, or after `error`. Not emitted after stop(). */
  end: [];
  /** Sending or writing failed for good (interface down, disk full); `end` follows. */
  error: [error: DicapError];
}

type NativeEvent = { type: 'end' } | { type: 'error'; message: string };

interface NativeGenerator {
  start(): void;
  stop(): void;
  counters(): TrafficGeneratorCounters;
}

function checkWhole(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${name} must be a whole number from ${min} to ${max}, got ${value}`,
    );
  }
}

function checkOptions(options: TrafficGeneratorOptions): void {
  const hasInterface = 'interface' in options && options.interface !== undefined;
  const hasWrite = 'write' in options && options.write !== undefined;
  if (hasInterface === hasWrite) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      'give exactly one output: interface (send) or write (pcap file)',
    );
  }
  checkWhole('rate', options.rate, 0, Number.MAX_SAFE_INTEGER);
  checkWhole('count', options.count, 0, Number.MAX_SAFE_INTEGER);
  checkWhole('durationMs', options.durationMs, 0, Number.MAX_SAFE_INTEGER / 1e6);
  checkWhole('flows', options.flows, 1, MAX_FLOWS);
  checkWhole('seed', options.seed, 0, Number.MAX_SAFE_INTEGER);
  if (options.ipidMix) {
    const { counter, random, zeroDf } = options.ipidMix;
    for (const [name, share] of Object.entries({ counter, random, zeroDf }))
      checkWhole(`ipidMix.${name}`, share, 0, 1_000_000);
    if (counter + random + zeroDf === 0) throw badConfig('ipidMix needs at least one non-zero share');
  }
}

export class TrafficGenerator extends EventEmitter<TrafficGeneratorEvents> {
  private readonly handle: NativeGenerator;

  /** Throws DicapError('DICAP_ERR_BAD_CONFIG') for bad options; nothing is opened yet. */
  constructor(options: TrafficGeneratorOptions) {
    super();
    checkOptions(options);
    this.handle = new native.TrafficGenerator(options, (event: NativeEvent) =>
      this.dispatch(event),
    ) as NativeGenerator;
  }

  /** Opens the interface or file and starts the thread; throws a one-line error (code DICAP_ERR_GEN_OUTPUT). */
  start(): void {
    this.handle.start();
  }

  /** Ends the run (a file is flushed and closed) and joins the thread; counters stay readable. Idempotent. */
  stop(): void {
    this.handle.stop();
  }

  counters(): TrafficGeneratorCounters {
    return this.handle.counters();
  }

  private dispatch(event: NativeEvent): void {
    if (event.type === 'error') {
      this.emit('error', new DicapError('DICAP_ERR_GEN_OUTPUT', event.message));
      return;
    }
    // The thread has finished: join it now, so the process is not kept alive waiting for stop().
    this.handle.stop();
    this.emit('end');
  }
}
