// Who owns a frame (SPEC.md §4): the frame parse, the keyed flow and IP-ID hashes, the
// rendezvous mapping of flow buckets to nodes, and the round-robin counter. The native
// engine implements the same functions in C++; the §5 test vectors hold both to them.
// All arithmetic is mod 2^32: Math.imul for products, `>>> 0` to read a result as u32.
import { createHmac } from 'node:crypto';
import type { SelectionMode } from './avp.js';
import { INSECURE_KEY } from './control-message.js';

/** Frames shorter than an Ethernet header belong to position 0. */
export const MIN_SELECTABLE_FRAME = 14;
/** flow mode: bucket = flow_hash & FLOW_BUCKET_MASK (4096 buckets). */
export const FLOW_BUCKET_MASK = 4095;
const RENDEZVOUS_MULTIPLIER = 0x9e3779b1;

const VLAN_TPIDS: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);
const MAX_VLAN_TAGS = 2;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 136]); // TCP, UDP, SCTP, UDP-Lite
const IPV6_FRAGMENT_HEADER = 44;
const MAX_IPV6_EXTENSION_HEADERS = 8;

/** MurmurHash3's 32-bit finalizer. */
export function fmix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The flow-hash inputs of a frame (SPEC.md §4), all unsigned. */
export interface FrameKey {
  /** XOR of the address words (IP), or of the MAC words (anything else). */
  readonly a: number;
  /** sport ^ dport, or 0. */
  readonly p: number;
  /** IP protocol / last IPv6 next header, or the EtherType for non-IP frames. */
  readonly proto: number;
  /** IPv4 Identification; present exactly for frames parsed as IPv4. */
  readonly ipv4Id?: number;
}

const IPV6_EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 60, 51, IPV6_FRAGMENT_HEADER]);

/** Length in bytes of the IPv6 extension header `type` whose length byte is `n`. */
function ipv6ExtensionLength(type: number, n: number): number {
  if (type === 51) return (n + 2) * 4; // AH counts 4-byte words, minus 2
  if (type === IPV6_FRAGMENT_HEADER) return 8;
  return (n + 1) * 8; // hop-by-hop, routing, destination options
}

function portsAt(frame: Uint8Array, offset: number, proto: number, fragment: boolean): number {
  if (fragment || !PORT_PROTOCOLS.has(proto) || offset + 4 > frame.length) return 0;
  return ((frame[offset]! << 8) | frame[offset + 1]!) ^ ((frame[offset + 2]! << 8) | frame[offset + 3]!);
}

function word(frame: Uint8Array, offset: number): number {
  return (
    ((frame[offset]! << 24) | (frame[offset + 1]! << 16) | (frame[offset + 2]! << 8) | frame[offset + 3]!) >>>
    0
  );
}

function parseIpv4(frame: Uint8Array, l3: number): FrameKey | undefined {
  if (l3 + 20 > frame.length) return undefined;
  const version = frame[l3]! >> 4;
  const headerLength = (frame[l3]! & 0x0f) * 4;
  if (version !== 4 || headerLength < 20 || l3 + headerLength > frame.length) return undefined;
  const flagsAndOffset = (frame[l3 + 6]! << 8) | frame[l3 + 7]!;
  const fragment = (flagsAndOffset & 0x2000) !== 0 || (flagsAndOffset & 0x1fff) !== 0;
  const proto = frame[l3 + 9]!;
  return {
    a: (word(frame, l3 + 12) ^ word(frame, l3 + 16)) >>> 0,
    p: portsAt(frame, l3 + headerLength, proto, fragment),
    proto,
    ipv4Id: (frame[l3 + 4]! << 8) | frame[l3 + 5]!,
  };
}

function parseIpv6(frame: Uint8Array, l3: number): FrameKey | undefined {
  if (l3 + 40 > frame.length || frame[l3]! >> 4 !== 6) return undefined;
  let a = 0;
  for (let offset = l3 + 8; offset < l3 + 40; offset += 4) a ^= word(frame, offset);
  let proto = frame[l3 + 6]!;
  let offset = l3 + 40;
  let fragment = false;
  for (let walked = 0; walked < MAX_IPV6_EXTENSION_HEADERS && IPV6_EXTENSION_HEADERS.has(proto); walked++) {
    if (offset + 2 > frame.length) return { a: a >>> 0, p: 0, proto }; // cut off: stop at this header
    const length = ipv6ExtensionLength(proto, frame[offset + 1]!);
    if (offset + length > frame.length) return { a: a >>> 0, p: 0, proto };
    if (proto === IPV6_FRAGMENT_HEADER) fragment = true;
    proto = frame[offset]!;
    offset += length;
  }
  return { a: a >>> 0, p: portsAt(frame, offset, proto, fragment), proto };
}

/**
 * The flow-hash inputs of an Ethernet frame: through at most two VLAN tags to IPv4 or
 * IPv6, else (ARP, LLDP, truncated or invalid IP) the MAC addresses and the EtherType.
 * Frames shorter than 14 bytes give { a: 0, p: 0, proto: 0 } (their owner is position 0).
 */
export function parseFrame(frame: Uint8Array): FrameKey {
  if (frame.length < MIN_SELECTABLE_FRAME) return { a: 0, p: 0, proto: 0 };
  let typeOffset = 12;
  let etherType = (frame[12]! << 8) | frame[13]!;
  for (
    let tags = 0;
    tags < MAX_VLAN_TAGS && VLAN_TPIDS.has(etherType) && typeOffset + 6 <= frame.length;
    tags++
  ) {
    typeOffset += 4;
    etherType = (frame[typeOffset]! << 8) | frame[typeOffset + 1]!;
  }
  const l3 = typeOffset + 2;
  const ip =
    etherType === ETHERTYPE_IPV4
      ? parseIpv4(frame, l3)
      : etherType === ETHERTYPE_IPV6
        ? parseIpv6(frame, l3)
        : undefined;
  return ip ?? { a: (word(frame, 0) ^ word(frame, 4) ^ word(frame, 8)) >>> 0, p: 0, proto: etherType };
}

/** flow_hash = fmix32(a ^ ((p << 16) | proto) ^ k0); symmetric in the two directions of a flow. */
export function flowHash(frame: Uint8Array, k0: number): number {
  const { a, p, proto } = parseFrame(frame);
  return fmix32((a ^ ((p << 16) | (proto & 0xffff)) ^ k0) >>> 0);
}

/** ipid_hash = fmix32(ipv4_identification ^ k0). */
export function ipidHash(id: number, k0: number): number {
  return fmix32((id ^ k0) >>> 0);
}

/** flow mode: the position among `nodeIds` of the node owning flow bucket `bucket` (rendezvous hashing). */
export function flowOwner(bucket: number, nodeIds: readonly number[], k1: number): number {
  const spread = Math.imul(bucket, RENDEZVOUS_MULTIPLIER);
  let best = -1;
  let bestScore = -1;
  nodeIds.forEach((id, position) => {
    const score = fmix32((spread ^ id ^ k1) >>> 0);
    if (score > bestScore || (score === bestScore && id >>> 0 < nodeIds[best]! >>> 0)) {
      best = position;
      bestScore = score;
    }
  });
  return best;
}

/**
 * The owner position of `frame` among `nodeIds` (non-empty) in `mode`. Round-robin needs
 * `counter`, the value of C for this frame (see RoundRobinOwner).
 */
export function ownerPosition(
  mode: SelectionMode,
  frame: Uint8Array,
  nodeIds: readonly number[],
  k0: number,
  k1: number,
  counter?: number,
): number {
  const n = nodeIds.length;
  if (n === 0) throw new RangeError('ownerPosition needs at least one node ID');
  if (mode === 'round-robin' && counter === undefined)
    throw new RangeError('round-robin selection needs the counter C');
  if (frame.length < MIN_SELECTABLE_FRAME) return 0;
  switch (mode) {
    case 'round-robin':
      return counter! % n;
    case 'ipid': {
      const id = parseFrame(frame).ipv4Id;
      return (id === undefined ? flowHash(frame, k0) : ipidHash(id, k0)) % n;
    }
    case 'flow':
      return flowOwner(flowHash(frame, k0) & FLOW_BUCKET_MASK, nodeIds, k1);
  }
}

/**
 * Round-robin's counter C: reset to 0 where the in-band topology frame passes; every
 * later frame on the wire, runts included (they belong to position 0), takes C and
 * advances it, so C stays the frame's index since the reset on every node. In-band frames
 * (EtherType 0x88B5, untagged) are outside C (SPEC §6.10): one that is traffic (forged,
 * stale) belongs to position 0, like a runt, and does not advance C.
 */
/** An untagged frame of the in-band EtherType 0x88B5 (SPEC §2), whatever its payload. */
function isInbandFrame(frame: Uint8Array): boolean {
  return frame.length >= MIN_SELECTABLE_FRAME && frame[12] === 0x88 && frame[13] === 0xb5;
}

export class RoundRobinOwner {
  #counter = 0;

  reset(): void {
    this.#counter = 0;
  }

  /** Frames counted since the last reset. */
  get counter(): number {
    return this.#counter;
  }

  /** The owner position of the next frame on the wire, among `nodeCount` nodes. */
  next(frame: Uint8Array, nodeCount: number): number {
    if (nodeCount < 1) throw new RangeError('round-robin selection needs at least one node');
    if (isInbandFrame(frame)) return 0;
    const position = frame.length < MIN_SELECTABLE_FRAME ? 0 : this.#counter % nodeCount;
    this.#counter++;
    return position;
  }
}

/** k0, k1 from the cluster key (SPEC §6.7): every coordinator of a cluster derives the same ones. */
export function deriveHashKeys(key: Buffer | null): [number, number] {
  const mac = createHmac('sha256', key ?? INSECURE_KEY)
    .update('dicap selection hash keys')
    .digest();
  return [mac.readUInt32BE(0), mac.readUInt32BE(4)];
}
