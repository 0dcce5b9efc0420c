// `dicap gen --interface` on a real veth between two network namespaces we create: what the
// generator says it sent is exactly what the peer's rx counters and a tcpdump on the peer
// saw, frame for frame the same bytes that `--write` produces for the same seed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../native/capture-file.js';
import { startDicap } from '../../lab/dicap-command.js';
import {
  addNamespace,
  addVethPair,
  deleteNamespaceSync,
  disableOffloads,
  privilegeProblem,
  readInterfaceStatistics,
  run,
  setLink,
  setSysctls,
  spawnInNamespace,
  type LinkEnd,
} from '../../lab/netns.js';
import type { GenReport } from '../../bin/gen.js';
import { tcpdumpToFile, type Tcpdump } from '../../lab/tcpdump-file.js';

const problem = privilegeProblem();
const id = `dgn${process.pid % 100000}`;
const tx: LinkEnd = { name: `${id}t`, namespace: `${id}-tx` };
const rx: LinkEnd = { name: `${id}r`, namespace: `${id}-rx` };
/** tcpdump on the receiving end of the veth. */
function startTcpdump(file: string): Promise<Tcpdump> {
  return tcpdumpToFile(`in ${rx.namespace}`, rx.name, file, (args) => {
    const child = spawnInNamespace(rx.namespace, 'tcpdump', args);
    const exited = once(child, 'exit');
    return {
      child,
      stop: async (signal) => {
        child.kill(signal);
        await exited;
      },
    };
  });
}

async function gen(args: string[], namespace?: string): Promise<GenReport> {
  const p = startDicap(['gen', ...args, '--json', '--no-progress'], namespace);
  const code = await p.exited;
  expect(code, p.stderr()).toBe(0);
  return JSON.parse(p.stdout()) as GenReport;
}

async function rxCounters(): Promise<{ packets: number; bytes: number }> {
  const [packets, bytes] = await readInterfaceStatistics(rx, ['rx_packets', 'rx_bytes']);
  return { packets: packets!, bytes: bytes! };
}

describe.skipIf(problem !== undefined)('dicap gen on a veth (needs root)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-gen-'));
    for (const ns of [tx.namespace, rx.namespace]) {
      await addNamespace(ns);
      // No IPv6: the kernel would add router solicitations of its own to the link.
      await setSysctls(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    }
    await addVethPair(tx, rx);
    for (const end of [tx, rx]) {
      await setLink(end, { up: true });
      await disableOffloads(end); // no GRO merging of the TCP segments on the receiving side
    }
  });

  afterAll(() => {
    for (const ns of [tx.namespace, rx.namespace]) deleteNamespaceSync(ns);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers exactly the frames it reports at a fixed rate, the same bytes --write gives for the seed', async () => {
    const frames = 20_000;
    const rate = 20_000;
    const common = ['--count', String(frames), '--rate', String(rate), '--seed', '11', '--flows', '300'];
    await gen(['--write', path.join(dir, 'expected.pcap'), ...common]);
    const expected = readCaptureFile(path.join(dir, 'expected.pcap'));
    expect(expected.frames).toHaveLength(frames);

    const file = path.join(dir, 'received.pcap');
    const capture = await startTcpdump(file);
    const before = await rxCounters();
    const report = await gen(['--interface', tx.name, ...common], tx.namespace);
    const stats = await capture.stop();
    const after = await rxCounters();

    expect(report).toMatchObject({ frames, framesFailed: 0, output: { interface: tx.name } });
    expect(report.bytes).toBe(expected.frames.reduce((sum, f) => sum + f.data.length, 0));
    // Paced: N frames at R per second take N/R seconds.
    expect(report.elapsedSeconds).toBeGreaterThan((0.95 * frames) / rate);
    expect(report.elapsedSeconds).toBeLessThan((1.2 * frames) / rate);

    expect(after.packets - before.packets).toBe(report.frames);
    expect(after.bytes - before.bytes).toBe(report.bytes);

    expect(stats).toMatchObject({ captured: frames, droppedByKernel: 0 });
    const received = readCaptureFile(file);
    expect(received.error).toBeNull();
    expect(received.frames).toHaveLength(frames);
    expect(received.frames.reduce((sum, f) => sum + f.wireLen, 0)).toBe(report.bytes);
    // One sender, one link: the same frames in the same order (libpcap puts VLAN tags back).
    const mismatched = received.frames.findIndex((f, i) => !f.data.equals(expected.frames[i]!.data));
    expect(mismatched).toBe(-1);
  });

  it('accounts for every frame at the highest rate', async () => {
    const before = await rxCounters();
    const report = await gen(['--interface', tx.name, '--count', '500000', '--rate', 'max'], tx.namespace);
    const after = await rxCounters();
    expect(report.frames + report.framesFailed).toBe(500_000);
    expect(after.packets - before.packets).toBe(report.frames);
    expect(after.bytes - before.bytes).toBe(report.bytes);
    // Informational: the rate and cost on this machine.
    console.log(
      `dicap gen --rate max into a veth: ${Math.round(report.framesPerSecond)} frames/s, ${report.cpuSecondsPerMillionFrames?.toFixed(3)} CPU-s per million frames, ${report.sendRefusals} refusals`,
    );
  });

  it('stops after --duration, never sending more than the rate allows', async () => {
    const report = await gen(['--interface', tx.name, '--duration', '0.5', '--rate', '10000'], tx.namespace);
    expect(report.elapsedSeconds).toBeGreaterThanOrEqual(0.5);
    expect(report.elapsedSeconds).toBeLessThan(5); // it stops (how promptly is the benchmarks' business)
    expect(report.frames).toBeGreaterThan(0);
    expect(report.frames).toBeLessThanOrEqual(5001);
  });

  it('sends every frame of a --count run at rates whose period is not a whole number of nanoseconds', async () => {
    for (const rate of [3000, 7000]) {
      const report = await gen(
        ['--interface', tx.name, '--count', '700', '--rate', String(rate)],
        tx.namespace,
      );
      expect(report.frames + report.framesFailed, `--rate ${rate}`).toBe(700);
    }
  });

  it('counts and reports the frames a peer without carrier refuses', async () => {
    await run(['ip', '-n', rx.namespace, 'link', 'set', 'dev', rx.name, 'down']);
    try {
      const p = startDicap(
        ['gen', '--interface', tx.name, '--count', '3', '--json', '--no-progress'],
        tx.namespace,
      );
      expect(await p.exited).toBe(1);
      const report = JSON.parse(p.stdout()) as GenReport;
      expect(report).toMatchObject({ frames: 0, framesFailed: 3 });
      expect(report.sendRefusals).toBeGreaterThanOrEqual(3);
    } finally {
      await setLink(rx, { up: true });
    }
  });

  it('says so in one line when the interface is down', async () => {
    await run(['ip', '-n', tx.namespace, 'link', 'set', 'dev', tx.name, 'down']);
    try {
      const p = startDicap(['gen', '--interface', tx.name, '--count', '10', '--no-progress'], tx.namespace);
      expect(await p.exited).toBe(1);
      expect(p.stderr()).toMatch(/send on .*: Network is down; bring the interface up/);
    } finally {
      await setLink(tx, { up: true });
    }
  });
});
