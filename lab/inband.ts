// In-band TOPOLOGY_UPDATE frames (SPEC.md §2) for the lab: what a coordinator injects
// into the monitored link so that every round-robin capture node resets its counter C at
// the same frame. Built here as one-frame pcap files that `lab.replay(…, { host:
// 'coordinator1' })` sends from a coordinator's injection point; a forged variant (MAC
// made with another key) checks that agents treat such a frame as ordinary traffic.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PcapFileWriter } from '../common/pcap-file-writer.js';
import { DicapError } from '../common/errors.js';
import {
  encodeControlMessage,
  encodeInbandFrame,
  topologyUpdate,
  type TopologyUpdateFields,
} from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import type { Lab } from './lab.js';
import type { ReplayResult } from './replay.js';
import type { LabHost, WireInterface } from './topology.js';

/** The coordinator's term in the lab's in-band frames; the static topology they replace has TERM 0. */
export const LAB_COORDINATOR_TERM = 1;

export interface InbandFrameOptions {
  /** The topology the frame carries; agents adopt it whole (mode, nodes, keys, analyzers, snaplen). */
  topology: TopologyUpdateFields;
  /** The cluster key that signs the message (HMAC-SHA256, SPEC.md §1.1). */
  clusterKey: Buffer;
  /** Source MAC of the frame: the injecting interface's. */
  srcMac: Buffer;
  /** TIMESTAMP in Unix seconds; default now. Agents accept it within 30 s of the frame's capture time. */
  timestampS?: number;
  /** SENDER_SEQ; default 1. */
  senderSeq?: number;
}

/** The bytes of an in-band frame carrying `topology`, signed with `clusterKey`. A new Buffer the caller owns. */
export function inbandTopologyFrame(options: InbandFrameOptions): Buffer {
  const message = encodeControlMessage(
    {
      ...topologyUpdate(options.topology),
      timestamp: options.timestampS ?? Math.floor(Date.now() / 1000),
      senderSeq: options.senderSeq ?? 1,
    },
    options.clusterKey,
  );
  return encodeInbandFrame(options.srcMac, message);
}

/** A key of the same length that is not `clusterKey`: what a forger without the key would sign with. */
export function forgedKey(clusterKey: Buffer): Buffer {
  let key = randomBytes(clusterKey.length);
  while (key.equals(clusterKey)) key = randomBytes(clusterKey.length);
  return key;
}

/** Writes `frame` as the only frame of a nanosecond pcap file (time stamp now). */
export function writeOneFramePcap(file: string, frame: Buffer): void {
  const writer = new PcapFileWriter(file);
  writer.write(BigInt(Date.now()) * 1_000_000n, frame);
  writer.close();
}

/** "02:00:00:00:00:01" → its 6 bytes; throws RangeError on anything else. */
export function parseMac(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(trimmed))
    throw new RangeError(`"${trimmed}" is not a MAC address like 02:00:00:00:00:01`);
  return Buffer.from(trimmed.replaceAll(':', ''), 'hex');
}

export interface InjectOptions {
  /** The topology to carry; default: the cluster's static topology with TERM 1 and EPOCH 2. */
  topology?: TopologyUpdateFields;
  /** Sign with another key than the cluster's: a forged frame, which agents must treat as ordinary traffic. */
  forged?: boolean;
  /** The coordinator whose injection point sends the frame (default coordinator1). */
  host?: string;
}

export interface Injected {
  /** The frame as it went on the wire. */
  frame: Buffer;
  topology: TopologyUpdateFields;
  replay: ReplayResult;
}

/** The cluster's topology under a newer (TERM, EPOCH): what a coordinator would send to re-synchronise it. */
export function newerTopology(
  cluster: Cluster,
  epoch = cluster.staticTopology.epoch + 1,
): TopologyUpdateFields {
  return { ...cluster.staticTopology, term: LAB_COORDINATOR_TERM, epoch, validityStartMs: Date.now() };
}

/** A coordinator host of `lab` with an injection point into the wire; throws DICAP_ERR_BAD_CONFIG if `name` is not one. */
function injectingHost(lab: Lab, name: string): LabHost & { wire: WireInterface } {
  const host = lab.host(name);
  if (host.role !== 'coordinator' || !host.wire) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab host ${host.name} is not a coordinator with an injection point; build the lab with --coordinators 1 or more`,
    );
  }
  return host as LabHost & { wire: WireInterface };
}

/** The MAC address of coordinator host `name`'s injection interface: the source MAC of its in-band frames. */
export async function injectionMac(lab: Lab, name: string): Promise<Buffer> {
  const host = injectingHost(lab, name);
  return parseMac(await lab.exec(host.name, ['cat', `/sys/class/net/${host.wire.interface}/address`]));
}

/**
 * Sends `frame` into the lab's wire from coordinator host `name`'s injection point, through
 * the mirror to every capture host: written to `file` as a one-frame pcap, sent by tcpreplay.
 * Resolves once it was sent; throws DICAP_ERR_LAB_REPLAY if it was not.
 */
export async function injectFrame(
  lab: Lab,
  name: string,
  frame: Buffer,
  file: string,
): Promise<ReplayResult> {
  const host = injectingHost(lab, name);
  writeOneFramePcap(file, frame);
  const replay = await lab.replay([file], { host: host.name });
  if (replay.sent !== 1) {
    throw new DicapError(
      'DICAP_ERR_LAB_REPLAY',
      `the in-band frame was not sent from ${host.name}: ${replay.refused.map((r) => r.reason).join('; ') || 'tcpreplay sent nothing'}`,
    );
  }
  return replay;
}

/**
 * Sends one in-band TOPOLOGY_UPDATE frame (TIMESTAMP now) into the lab's wire from a
 * coordinator's injection point (injectFrame), and resolves once tcpreplay has sent it.
 * Wait for the agents with cluster.waitForEpoch(topology.epoch) (an authentic frame) or by
 * their inbandRejected counters (a forged one).
 */
export async function injectTopology(
  lab: Lab,
  cluster: Cluster,
  options: InjectOptions = {},
): Promise<Injected> {
  const host = options.host ?? 'coordinator1';
  const srcMac = await injectionMac(lab, host);
  const topology = options.topology ?? newerTopology(cluster);
  const clusterKey = options.forged ? forgedKey(cluster.clusterKey) : cluster.clusterKey;
  const frame = inbandTopologyFrame({ topology, clusterKey, srcMac });
  const file = path.join(
    cluster.directory,
    `inband-term${topology.term}-epoch${topology.epoch}${options.forged ? '-forged' : ''}.pcap`,
  );
  const replay = await injectFrame(lab, host, frame, file);
  return { frame, topology, replay };
}

/**
 * In-band frames adoptInbandTopology puts on the wire: the topology announced (every agent
 * stages it) and the same frame again as its switch frame (SPEC §6.10). Both are control
 * frames, not traffic.
 */
export const INBAND_SYNC_FRAMES = 2;

/** A one-time token for a staged topology (SPEC §6.10): 64 random bits, never 0. */
export function randomToken(): bigint {
  for (;;) {
    const token = randomBytes(8).readBigUInt64BE();
    if (token !== 0n) return token;
  }
}

/**
 * Brings a newer topology into force on every agent at one frame, the way a coordinator
 * does (SPEC §6.10), so that it works whether the agents select in user space or in the
 * kernel: an authentic in-band frame carrying the topology and a one-time token, which every
 * agent authenticates and stages (in the kernel too), then, once each has, the same frame
 * again: the switch frame, where all of them switch. Resolves once every agent has the
 * topology in force; if they do not take it, the error says what they made of the frame.
 */
export async function adoptInbandTopology(
  lab: Lab,
  cluster: Cluster,
  options: Omit<InjectOptions, 'forged'> = {},
  timeoutMs = 10_000,
): Promise<Injected> {
  const before = cluster.counters().agents.map((a) => ({
    rejected: a?.inbandRejected ?? 0,
    control: a?.controlFrames ?? 0,
  }));
  const topology = { ...(options.topology ?? newerTopology(cluster)), token: randomToken() };
  const announced = await injectTopology(lab, cluster, { ...options, topology });
  try {
    await cluster.waitUntil(
      `every agent staged the topology of epoch ${topology.epoch}`,
      (s) => s.agents.every((a, i) => (a?.controlFrames ?? 0) > before[i]!.control),
      timeoutMs,
    );
    await injectFrame(
      lab,
      options.host ?? 'coordinator1',
      announced.frame,
      path.join(cluster.directory, `inband-term${topology.term}-epoch${topology.epoch}-switch.pcap`),
    );
    await cluster.waitForEpoch(topology.epoch, timeoutMs);
  } catch (error) {
    const agents = cluster.counters().agents;
    const rejected = agents.filter((a, i) => (a?.inbandRejected ?? 0) > before[i]!.rejected).length;
    if (rejected === 0) throw error;
    throw new DicapError(
      'DICAP_ERR_LAB_INBAND',
      `${rejected} of ${agents.length} agents rejected the in-band frame of epoch ${topology.epoch} (${announced.frame.length} bytes) as inauthentic, stale or not newer`,
    );
  }
  return announced;
}
