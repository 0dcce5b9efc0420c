// The selection in the kernel (native/bpf/selection.bpf.c) against the user-space one: the
// XDP program, run by BPF_PROG_TEST_RUN on every frame, once per node of a 3-node topology
// (each run is one node's kernel), must pass each traffic frame on exactly the node that
// `dicap owner`'s selection (protocol/selection.ts, itself tested equal to the C++ Selector)
// names — in every mode, at two snaplens, on the §5 vectors, the Ethernet corpus, generator
// traffic and random bytes. Then the staged switches of SPEC §6.10: a timed start, its guard
// window, and the in-band switch frame with its one-time token (forged and replayed ones
// change nothing). Needs root and a kernel that takes BPF programs; skips with one line if not.
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../native/capture-file.js';
import type { EngineTopology, SelectionModeName } from '../../native/engine.js';
import { KernelSelection } from '../../native/kernel-selection.js';
import { TrafficGenerator } from '../../native/traffic-generator.js';
import { inbandTopologyFrame } from '../../lab/inband.js';
import { ownerPosition } from '../../protocol/selection.js';
import { kernelSelectionProblem } from '../helpers/kernel-selection.js';

const NODES = [11, 22, 33];
const K0 = 0x1234;
const K1 = 0x5678;
const MODES: SelectionModeName[] = ['round-robin', 'ipid', 'flow'];
/** BPF_PROG_TEST_RUN takes XDP frames of at most about a page; selection reads at most snaplen bytes of them. */
const TEST_RUN_MAX = 3000;
const CORPUS = path.resolve('..', 'shared', 'corpus', 'ether');
const SRC_MAC = Buffer.from('020000000099', 'hex');

const problem = kernelSelectionProblem();

function topology(mode: SelectionModeName, epoch = 1, validityStartNs = 0n): EngineTopology {
  return { term: 0, epoch, mode, nodeIds: NODES, k0: K0, k1: K1, validityStartNs, analyzers: [], snaplen: 0 };
}

/** The frames a node's kernel passes: one program per node, as in a cluster. */
function passedBy(
  nodeId: number,
  frames: Buffer[],
  snaplen: number,
  stage: (k: KernelSelection) => void,
): boolean[] {
  const kernel = new KernelSelection({ nodeId, snaplen, guardNs: 0n });
  try {
    stage(kernel);
    return kernel.testRunXdp(frames);
  } finally {
    kernel.close();
  }
}

/** Expected owner positions by the user-space selection, on the first `snaplen` bytes. */
function expectedOwners(mode: SelectionModeName, frames: Buffer[], snaplen: number): number[] {
  return frames.map((frame, counter) =>
    ownerPosition(mode, frame.subarray(0, snaplen), NODES, K0, K1, counter),
  );
}

async function generatorFrames(dir: string): Promise<Buffer[]> {
  const file = path.join(dir, 'gen.pcap');
  const generator = new TrafficGenerator({ write: file, count: 30_000, flows: 2000, seed: 7 });
  const ended = once(generator, 'end');
  generator.start();
  await ended;
  const frames = readCaptureFile(file).frames.map((f) => f.data);
  expect(frames.length).toBe(30_000);
  return frames;
}

function corpusFrames(): Buffer[] {
  if (!fs.existsSync(CORPUS)) return [];
  const frames: Buffer[] = [];
  for (const name of fs.readdirSync(CORPUS).sort()) {
    for (const f of readCaptureFile(path.join(CORPUS, name)).frames) frames.push(f.data);
  }
  return frames;
}

function randomFrames(count: number): Buffer[] {
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const frame = Buffer.alloc(14 + (next() % 120));
    for (let j = 0; j < frame.length; j++) frame[j] = next() >>> 24;
    // Steer a share towards the parsed paths: IPv4, IPv6, VLAN tags.
    const types = [0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806];
    const type = types[next() % types.length]!;
    frame.writeUInt16BE(type, 12);
    if (type === 0x0800 && frame.length > 14) frame[14] = 0x40 | (5 + (next() % 3));
    if (type === 0x86dd && frame.length > 14) frame[14] = 0x60;
    frames.push(frame);
  }
  return frames;
}

describe.skipIf(problem)('selection in the kernel equals the user-space selection', () => {
  let dir: string;
  let sources: Array<{ name: string; frames: Buffer[] }>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-kernel-selection-'));
    const vectors = [
      '0200000000020200000000010800450000281c46400040060000c6120001c61300079c4001bb00000000000000000000000000000000',
      '020000000002020000000001080045000028beef200040110000c6120001c613000714e9003500000000000000000000000000000000',
      '020000000002020000000001810000640800450000280102400040110000c6120002c613000904d2003500000000000000000000000000000000',
      '02000000000202000000000186dd600000000018114020010db800000000000000000000000120010db8000000000000000000000002138800350000000000000000000000000000000000000000',
      'ffffffffffff020000000001080600000000000000000000000000000000000000000000000000000000',
    ].map((h) => Buffer.from(h, 'hex'));
    sources = [
      { name: 'SPEC §5 vectors', frames: vectors },
      { name: 'generator traffic', frames: await generatorFrames(dir) },
      { name: 'random frames', frames: randomFrames(20_000) },
    ];
    const corpus = corpusFrames().filter((f) => f.length >= 14 && f.readUInt16BE(12) !== 0x88b5);
    if (corpus.length > 0) sources.push({ name: 'Ethernet corpus', frames: corpus });
    else console.log(`kernel selection test: ${CORPUS} is absent; the corpus part is skipped`);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const mode of MODES) {
    for (const snaplen of [128, 1500]) {
      it(`${mode}, snaplen ${snaplen}: each frame passes on exactly its owner`, () => {
        for (const { name, frames: all } of sources) {
          const frames = all.map((f) => f.subarray(0, TEST_RUN_MAX));
          const expected = expectedOwners(mode, frames, snaplen);
          const passed = NODES.map((id) => passedBy(id, frames, snaplen, (k) => k.stage(topology(mode))));
          const wrong: string[] = [];
          frames.forEach((frame, i) => {
            const on = NODES.filter((_, position) => passed[position]![i]);
            if (on.length !== 1 || on[0] !== NODES[expected[i]!])
              wrong.push(
                `#${i} passed on [${on.join(',')}], owner ${NODES[expected[i]!]}: ${frame.toString('hex')}`,
              );
          });
          expect(wrong.slice(0, 5), `${name}: ${wrong.length} of ${frames.length} frames`).toEqual([]);
        }
      });
    }
  }

  it('counts seen, owned and not owned per epoch, and passes in-band frames on every node', () => {
    const frames = sources[1]!.frames.slice(0, 5000);
    const inband = Buffer.concat([
      Buffer.alloc(6, 0xff),
      SRC_MAC,
      Buffer.from([0x88, 0xb5]),
      Buffer.alloc(50),
    ]);
    const kernel = new KernelSelection({ nodeId: 22, snaplen: 128, guardNs: 0n });
    try {
      kernel.stage(topology('flow', 5));
      const passed = kernel.testRunXdp([...frames, inband]);
      expect(passed.at(-1), 'the in-band frame').toBe(true);
      const owned = passed.slice(0, -1).filter(Boolean).length;
      const counters = kernel.counters();
      expect(counters.epochs).toEqual([
        { epoch: 5, seen: frames.length, owned, notOwned: frames.length - owned },
      ]);
      expect(counters.inband).toBe(1);
      expect(counters.undecided).toBe(0);
    } finally {
      kernel.close();
    }
  });

  it('a timed topology comes into force at its validity start, and frames near it go up undecided', () => {
    const frames = sources[1]!.frames.slice(0, 3000);
    const later = BigInt(Date.now() + 3_600_000) * 1_000_000n;
    const earlier = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    const flowOwners = expectedOwners('flow', frames, 128);
    const ipidOwners = expectedOwners('ipid', frames, 128);
    // Epoch 2 (ipid) staged an hour ahead: epoch 1 (flow) stays in force.
    const ahead = passedBy(22, frames, 128, (k) => {
      k.stage(topology('flow', 1));
      k.stage(topology('ipid', 2, later));
    });
    expect(ahead).toEqual(flowOwners.map((p) => p === 1));
    // Epoch 2 whose start has passed: in force.
    const passedStart = passedBy(22, frames, 128, (k) => {
      k.stage(topology('flow', 1));
      k.stage(topology('ipid', 2, earlier));
    });
    expect(passedStart).toEqual(ipidOwners.map((p) => p === 1));
    // Within the guard window of a start, every frame goes up undecided.
    const kernel = new KernelSelection({ nodeId: 22, snaplen: 128, guardNs: 3_600_000_000_000n * 2n });
    try {
      kernel.stage(topology('flow', 1));
      kernel.stage(topology('ipid', 2, later));
      expect(kernel.testRunXdp(frames).every(Boolean)).toBe(true);
      expect(kernel.counters().undecided).toBe(frames.length);
    } finally {
      kernel.close();
    }
  });

  it('a staged topology comes into force at its switch frame; forged and replayed switch frames change nothing', () => {
    const frames = sources[1]!.frames.slice(0, 300);
    const token = 0x0123456789abcdefn;
    const update = (t: bigint): Buffer =>
      inbandTopologyFrame({
        topology: {
          term: 0,
          epoch: 2,
          selection: 'round-robin',
          validityStartMs: 0,
          nodeIds: NODES,
          analyzers: [],
          k0: K0,
          k1: K1,
          snaplen: 128,
          token: t,
        },
        clusterKey: Buffer.alloc(32, 7),
        srcMac: SRC_MAC,
      });
    const authentic = update(token);
    // What a forger sends: any token but the staged one (the MAC it cannot make does not matter here).
    const forged = update(token ^ 1n);
    // Round-robin, node 22 (position 1): epoch 1 in force from the start, epoch 2 (same
    // nodes) staged for the token. Sequence: 100 frames, forged switch, 100 frames,
    // authentic switch, 50 frames, the authentic one replayed, 50 frames.
    const sequence = [
      ...frames.slice(0, 100),
      forged,
      ...frames.slice(100, 200),
      authentic,
      ...frames.slice(200, 250),
      authentic,
      ...frames.slice(250, 300),
    ];
    const kernel = new KernelSelection({ nodeId: 22, snaplen: 128, guardNs: 0n });
    try {
      kernel.stage(topology('round-robin', 1));
      kernel.stage(topology('round-robin', 2), token);
      const passed = kernel.testRunXdp(sequence);
      // In-band frames are outside C on every node (§6.10): C runs on over the forged and
      // the replayed frame, which user space then judges (§2).
      const expected: boolean[] = [];
      let c = 0;
      for (let i = 0; i < 100; i++) expected.push(c++ % 3 === 1);
      expected.push(true); // forged switch frame: an in-band frame, passed up, no switch
      for (let i = 0; i < 100; i++) expected.push(c++ % 3 === 1);
      expected.push(true); // the switch: C = 0 from the next frame
      c = 0;
      for (let i = 0; i < 50; i++) expected.push(c++ % 3 === 1);
      expected.push(true); // replayed: passed up, C is not reset
      for (let i = 0; i < 50; i++) expected.push(c++ % 3 === 1);
      const firstWrong = passed.findIndex((p, i) => p !== expected[i]);
      expect(firstWrong, `first wrong verdict`).toBe(-1);
      const counters = kernel.counters();
      expect(counters.switches).toBe(1);
      expect(counters.inband).toBe(3);
      expect(counters.epochs.map((e) => [e.epoch, e.seen])).toEqual([
        [1, 200],
        [2, 100],
      ]);
    } finally {
      kernel.close();
    }
  });
});
