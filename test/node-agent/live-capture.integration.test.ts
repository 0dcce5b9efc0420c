// A live agent on a real veth in network namespaces we create, fed by real tcpreplay,
// exporting to a real `dicap analyzer`: the agent's counts and bytes match what tcpreplay
// sent, and the analyzer's pcap holds every sent frame once (802.1Q tags put back).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../native/capture-file.js';
import {
  addNamespace,
  addVethPair,
  deleteNamespaceSync,
  inNamespace,
  privilegeProblem,
  run,
  setLink,
  setSysctls,
} from '../../lab/netns.js';
import { dicapOptions, startDicap } from '../../lab/dicap-command.js';
import { compareMultisets, frameMultiset } from '../helpers/frames.js';
import { testCapture } from '../helpers/captures.js';

const problem = privilegeProblem();
// Real captures, several with 802.1Q/QinQ tags.
const FILES = [
  'tcpdump__afs.pcap',
  'zeek__icmp_dot1q.pcap',
  'zeek__pppoe-over-qinq.pcap',
  'zeek__vlan-collisions.pcap',
  'tcpdump__various_gre.pcap',
];
const SNAPLEN = 128;
const id = `dlv${process.pid % 100000}`;
const sender = `${id}s`;
const capture = `${id}c`;

describe.skipIf(problem !== undefined)('live capture on a veth (needs root)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-live-'));
    for (const ns of [sender, capture]) {
      await addNamespace(ns);
      // No IPv6: the kernel would add router solicitations of its own to the link.
      await setSysctls(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    }
    await addVethPair({ name: `${id}a`, namespace: sender }, { name: `${id}b`, namespace: capture });
    // A large MTU so that tagged and jumbo frames of the corpus are sent too.
    await setLink({ name: `${id}a`, namespace: sender }, { mtu: 65535, up: true });
    await setLink({ name: `${id}b`, namespace: capture }, { mtu: 65535, up: true });
    await setLink({ name: 'lo', namespace: capture }, { up: true });
  });

  afterAll(() => {
    for (const ns of [sender, capture]) deleteNamespaceSync(ns);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts and exports exactly the frames tcpreplay sent', async () => {
    const out = path.join(dir, 'out.pcap');
    const summary = path.join(dir, 'agent.json');
    const analyzer = startDicap(
      ['analyzer', '--listen', '127.0.0.1:19700', '--write', out, '--status-interval', '0'],
      capture,
    );
    const agent = startDicap(
      [
        'agent',
        ...dicapOptions({
          interface: `${id}b`,
          'node-id': 7,
          nodes: 7,
          analyzer: '127.0.0.1:19700',
          snaplen: SNAPLEN,
          summary,
          'status-interval': 0,
        }),
      ],
      capture,
    );
    try {
      await agent.waitForStderr(/capturing from interface/);
      await analyzer.waitForStderr(/listening/i);
      const files = FILES.map(testCapture);
      const replay = await run(inNamespace(sender, ['tcpreplay', '-i', `${id}a`, '--topspeed', ...files]));
      const sent = /Actual: (\d+) packets \((\d+) bytes\)/.exec(replay);
      expect(sent, replay).not.toBeNull();
      expect(replay).toMatch(/Failed packets:\s+0/);
      const [sentFrames, sentBytes] = [Number(sent![1]), Number(sent![2])];

      await new Promise((r) => setTimeout(r, 300)); // the ring retires its last block after 10 ms
      agent.child.kill('SIGINT');
      expect(await agent.exited).toBe(0);
      const counters = JSON.parse(fs.readFileSync(summary, 'utf8'));
      expect(counters.frames).toBe(sentFrames);
      expect(counters.bytes).toBe(sentBytes);
      expect(counters.socketDrops).toBe(0);
      expect(counters.recordsExported).toBe(sentFrames);

      await new Promise((r) => setTimeout(r, 200));
      analyzer.child.kill('SIGTERM');
      expect(await analyzer.exited).toBe(0);
      const input = files.flatMap((f) => readCaptureFile(f).frames).map((f) => ({ tsNs: 0n, data: f.data }));
      const written = readCaptureFile(out);
      expect(written.error).toBeNull();
      const output = written.frames.map((f) => ({ tsNs: 0n, data: f.data }));
      expect(compareMultisets(frameMultiset(input, SNAPLEN), frameMultiset(output, SNAPLEN))).toEqual({
        missing: 0,
        extra: 0,
      });
    } finally {
      agent.child.kill('SIGKILL');
      analyzer.child.kill('SIGKILL');
    }
  });
});
