// The lab's mirror, checked with real tools: tcpreplay sends real captures into the wire,
// real tcpdump records each capture host's passive interface, and the recordings are
// compared byte for byte, in order, with each other and with the input.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labSuite } from '../helpers/lab-suite.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { privilegeProblem } from '../../lab/netns.js';
import type { ReplayResult } from '../../lab/replay.js';
import { captureHostsOf } from '../../lab/topology.js';
import { startTcpdumpFile } from '../../lab/tcpdump-file.js';
import { testCapture } from '../helpers/captures.js';

const problem = privilegeProblem();
// Many frames of many kinds (Modbus/TCP, SSH, GRE, malformed ARP, SMB with frames up to
// 16 KB), a 80 KB "big TCP" frame no veth MTU allows (tcpreplay must refuse it), and
// 802.1Q / QinQ tagged frames.
const FILES = [
  'zeek__modbus__modbusBig.pcap',
  'zeek__ssh__ssh_kex_mlkem.pcap',
  'zeek__tunnels__gre-aruba.pcap',
  'tcpdump__arp-oobr.pcap',
  'zeek__smb__smb3_multichannel.pcap',
  'tcpdump__bigtcp-ipv6.pcap',
  'tcpdump__802.1ad_QinQ.pcap',
  'zeek__vlan-collisions.pcap',
  'zeek__pppoe-over-qinq.pcap',
  'zeek__mixed-vlan-mpls.pcap',
].map(testCapture);

/** EtherTypes the kernel takes out of the frame into skb metadata on receive (eth_type_vlan). */
const VLAN_TPIDS = new Set([0x8100, 0x88a8]);
const hasOuterVlanTag = (frame: Buffer): boolean =>
  frame.length >= 18 && VLAN_TPIDS.has(frame.readUInt16BE(12));

function hex(frame: Buffer | undefined): string {
  return frame ? frame.toString('hex') : '(none)';
}

/** The index of the first frame where two sequences differ, or -1. */
function firstDifference(a: readonly Buffer[], b: readonly Buffer[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i] || !a[i]!.equals(b[i]!)) return i;
  }
  return -1;
}

/** The frames tcpreplay sent: every frame of the files in order, minus the ones it reports as refused. */
function sentFrames(result: ReplayResult): Buffer[] {
  const refused = new Set(result.refused.map((r) => `${r.file}#${r.frameInFile}`));
  return FILES.flatMap((file) => {
    const read = readCaptureFile(file);
    expect(read.error, file).toBeNull();
    return read.frames.filter((_, i) => !refused.has(`${file}#${i + 1}`)).map((f) => f.data);
  });
}

describe.skipIf(problem !== undefined)('lab mirror (needs root)', () => {
  const suite = labSuite('lab-mirror', { id: 'tm', captureHosts: 3, analyzers: 0, coordinators: 1 });

  it('delivers every frame tcpreplay sent to every capture host, byte for byte and in order', async () => {
    const { lab, dir } = suite;
    const hosts = captureHostsOf(lab.topology).map((h) => h.name);
    const dumps = await Promise.all(hosts.map((h) => startTcpdumpFile(lab, h, path.join(dir, `${h}.pcap`))));
    const before = await lab.passiveCounters();
    const result = await lab.replay(FILES, { pps: 20_000 });
    const after = await lab.settledPassiveCounters();
    const dumped = await Promise.all(dumps.map((d) => d.stop()));

    // tcpreplay's own account: the 80054-byte frame is the only one the kernel refused.
    expect(result.failed).toBe(1);
    expect(result.refused).toEqual([
      {
        index: expect.any(Number),
        file: testCapture('tcpdump__bigtcp-ipv6.pcap'),
        frameInFile: 1,
        reason: 'Message too long (errno = 90)',
      },
    ]);
    const sent = sentFrames(result);
    expect(sent.length).toBe(result.sent);
    expect(result.bytes).toBe(sent.reduce((n, f) => n + f.length, 0));

    const tagged = sent.filter(hasOuterVlanTag).length;
    expect(tagged).toBeGreaterThan(100); // the VLAN files are really in the test
    for (const [i, host] of hosts.entries()) {
      // The interface counters: every sent frame arrived; its bytes are short by exactly
      // one 4-byte tag per tagged frame, because the kernel moved the outer tag into
      // metadata (skb->vlan_tci) when the wire received the frame.
      expect(after[i]!.rxPackets - before[i]!.rxPackets, host).toBe(result.sent);
      expect(after[i]!.rxBytes - before[i]!.rxBytes, host).toBe(result.bytes - 4 * tagged);
      expect(after[i]!.mirrorTxDropped - before[i]!.mirrorTxDropped, host).toBe(0);

      // tcpdump's recording: libpcap puts the tag back from the packet socket's
      // tp_vlan_tci/tp_vlan_tpid, so the file holds the frames as they were sent.
      expect(dumped[i]!.droppedByKernel, host).toBe(0);
      expect(dumped[i]!.captured, host).toBe(result.sent);
      const recorded = readCaptureFile(dumped[i]!.file);
      expect(recorded.error, host).toBeNull();
      const frames = recorded.frames.map((f) => f.data);
      const at = firstDifference(sent, frames);
      expect(at, `${host}: frame ${at} differs: sent ${hex(sent[at])} recorded ${hex(frames[at])}`).toBe(-1);
    }
  });

  it('serialises frames injected by a coordinator with the source traffic in one order for every capture host', async () => {
    const { lab, dir } = suite;
    // The source at full speed on the wire CPU while coordinator1 injects from the other
    // CPU: both enter the mirror at once. Without the wire's receive steering (RPS) the
    // two CPUs mirror concurrently and the capture hosts disagree on the interleaving.
    const hosts = captureHostsOf(lab.topology).map((h) => h.name);
    const source = testCapture('zeek__modbus__modbusBig.pcap');
    const injected = testCapture('tcpdump__arp-oobr.pcap');
    const dumps = await Promise.all(hosts.map((h) => startTcpdumpFile(lab, h, path.join(dir, `${h}.pcap`))));
    const before = await lab.passiveCounters();
    const [fromSource, fromCoordinator] = await Promise.all([
      lab.replay([source], { topspeed: true, loop: 20 }),
      lab.replay([injected], { pps: 20_000, loop: 3, host: 'coordinator1', pinToWireCpu: false }),
    ]);
    const after = await lab.settledPassiveCounters();
    const dumped = await Promise.all(dumps.map((d) => d.stop()));
    const recordings = dumped.map((d) => readCaptureFile(d.file).frames.map((f) => f.data));

    const total = fromSource.sent + fromCoordinator.sent;
    for (const [i, host] of hosts.entries()) {
      expect(after[i]!.rxDropped - before[i]!.rxDropped, `${host} rx_dropped`).toBe(0);
      expect(dumped[i]!.droppedByKernel, host).toBe(0);
      expect(recordings[i]!.length, host).toBe(total);
    }
    for (let i = 1; i < hosts.length; i++) {
      const at = firstDifference(recordings[0]!, recordings[i]!);
      expect(at, `${hosts[0]} and ${hosts[i]} disagree from frame ${at} on`).toBe(-1);
    }
    // The two senders really interleaved (the order was contested, not one sender after the
    // other), and each one's frames kept their own order. How finely they interleave depends
    // on how the two CPUs were scheduled (from dozens to thousands of runs), so only a few
    // runs of injected frames with source frames on both sides are required.
    const injectedFrames = readCaptureFile(injected).frames.map((f) => f.data);
    const isInjected = new Set(injectedFrames.map((f) => f.toString('hex')));
    const origin = recordings[0]!.map((f) => isInjected.has(f.toString('hex')));
    // A run of injected frames that ends before a source frame and did not start the recording.
    const runEnds = origin.filter((o, i) => i > 0 && origin[i - 1] && !o).length;
    const runsBetweenSource = runEnds - (origin[0] ? 1 : 0);
    expect(runsBetweenSource, 'runs of injected frames between source frames').toBeGreaterThanOrEqual(3);
    const sourceFrames = readCaptureFile(source).frames.map((f) => f.data);
    const expectSource = Array.from({ length: 20 }, () => sourceFrames).flat();
    expect(
      firstDifference(
        recordings[0]!.filter((_, i) => !origin[i]),
        expectSource,
      ),
    ).toBe(-1);
    expect(
      firstDifference(
        recordings[0]!.filter((_, i) => origin[i]),
        [...injectedFrames, ...injectedFrames, ...injectedFrames],
      ),
    ).toBe(-1);
  });
});
