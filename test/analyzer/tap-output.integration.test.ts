// `dicap analyzer --output tap:NAME` in a network namespace we create, fed by a real offline
// agent, read live by real consumers on the TAP: tcpdump sees every exported frame once;
// with --split 2 each connection goes to exactly one of two TAPs; tshark's TCP conversations
// (`-z conv,tcp`) of the live TAP equal those of the input file, whole frames of up to
// 16 kB included (agents and analyzer at --snaplen 0). The TAPs disappear with the analyzer.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dicapOptions, type DicapProcess, startDicap } from '../../lab/dicap-command.js';
import {
  addNamespace,
  deleteNamespaceSync,
  privilegeProblem,
  setLink,
  setSysctls,
  spawnInNamespace,
} from '../../lab/netns.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { testCapture } from '../helpers/captures.js';
import { compareMultisets } from '../helpers/frames.js';

const problem = privilegeProblem();
/** Whole frames (tcpdump's -s 0): records larger than a datagram travel in fragments. */
const SNAPLEN = 0;
const PORT = 19720;
const ns = `dtap${process.pid % 100000}`;
const tap = `dt${process.pid % 100000}`;
/** Libpcap hands over a partly filled ring block after this long (TPACKET_V3). */
const BLOCK_TIMEOUT_MS = 1000;

const processes: DicapProcess[] = [];
const sniffers: ChildProcess[] = [];
let dir: string;

interface Sniffer {
  file: string;
  stop(): Promise<void>;
}

/** Starts `tcpdump` or `tshark` on `iface` in the namespace, writing `file`; resolves once it captures. */
async function sniff(tool: 'tcpdump' | 'tshark', iface: string, file: string): Promise<Sniffer> {
  const args =
    tool === 'tcpdump'
      ? ['-i', iface, '-w', file, '-s', '0', '-B', '65536', '-n', '-Z', 'root']
      : ['-i', iface, '-w', file, '-s', '0', '-B', '64', '-n', '-q'];
  const child = spawnInNamespace(ns, tool, args);
  sniffers.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + 10_000;
  while (!/listening on|Capturing on/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${tool} on ${iface} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    file,
    async stop() {
      await new Promise((r) => setTimeout(r, BLOCK_TIMEOUT_MS + 300));
      child.kill('SIGINT');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

function analyzer(args: string[]): DicapProcess {
  const p = startDicap(['analyzer', '--listen', `127.0.0.1:${PORT}`, '--status-interval', '0', ...args], ns);
  processes.push(p);
  return p;
}

/** Replays `capture` through one offline agent owning every frame (flow mode), to completion. */
async function replay(capture: string): Promise<void> {
  const agent = startDicap(
    [
      'agent',
      ...dicapOptions({
        pcap: capture,
        'node-id': 1,
        nodes: 1,
        mode: 'flow',
        analyzer: `127.0.0.1:${PORT}`,
        snaplen: SNAPLEN,
        'status-interval': 0,
      }),
    ],
    ns,
  );
  processes.push(agent);
  expect(await agent.exited).toBe(0);
  await new Promise((r) => setTimeout(r, 300)); // the last datagrams
}

/** Frame bytes → count; the TAP gives frames new time stamps. */
function bytesMultiset(frames: Iterable<{ data: Buffer }>): Map<string, number> {
  const set = new Map<string, number>();
  for (const f of frames) {
    const key = f.data.toString('hex');
    set.set(key, (set.get(key) ?? 0) + 1);
  }
  return set;
}

/** A direction-free name of the frame's conversation: IPv4/IPv6 addresses and TCP/UDP ports, else the MAC pair. */
function conversation(frame: Buffer): string {
  let offset = 12;
  while (frame.readUInt16BE(offset) === 0x8100 || frame.readUInt16BE(offset) === 0x88a8) offset += 4;
  const type = frame.readUInt16BE(offset);
  const l3 = offset + 2;
  let a: string;
  let b: string;
  if (type === 0x0800) {
    const ihl = (frame[l3]! & 0x0f) * 4;
    const proto = frame[l3 + 9]!;
    const ports =
      proto === 6 || proto === 17 ? [frame.readUInt16BE(l3 + ihl), frame.readUInt16BE(l3 + ihl + 2)] : [0, 0];
    a = `${frame.subarray(l3 + 12, l3 + 16).join('.')}:${ports[0]}/${proto}`;
    b = `${frame.subarray(l3 + 16, l3 + 20).join('.')}:${ports[1]}/${proto}`;
  } else if (type === 0x86dd) {
    const proto = frame[l3 + 6]!;
    const ports =
      proto === 6 || proto === 17 ? [frame.readUInt16BE(l3 + 40), frame.readUInt16BE(l3 + 42)] : [0, 0];
    a = `${frame.subarray(l3 + 8, l3 + 24).toString('hex')}:${ports[0]}/${proto}`;
    b = `${frame.subarray(l3 + 24, l3 + 40).toString('hex')}:${ports[1]}/${proto}`;
  } else {
    a = frame.subarray(0, 6).toString('hex');
    b = frame.subarray(6, 12).toString('hex');
  }
  return [a, b].sort().join(' ');
}

/** tshark's TCP conversations without the two time columns (relative start, duration). */
function tcpConversations(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-q', '-z', 'conv,tcp'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .split('\n')
    .filter((line) => line.includes('<->'))
    .map((line) => line.trim().split(/\s+/).slice(0, -2).join(' '))
    .sort();
}

function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['-n', ns, 'link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(problem !== undefined)('analyzer TAP outputs (needs root)', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-tap-'));
    await addNamespace(ns);
    await setSysctls(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    await setLink({ name: 'lo', namespace: ns }, { up: true });
  });

  afterEach(async () => {
    for (const s of sniffers.splice(0)) if (s.exitCode === null) s.kill('SIGKILL');
    for (const p of processes.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });

  afterAll(() => {
    deleteNamespaceSync(ns); // takes any TAP left in it along
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tcpdump -i NAME sees every exported frame once; the TAP goes away with the analyzer', async () => {
    const capture = testCapture('zeek__smb__smb3_multichannel.pcap');
    const a = analyzer(['--output', `tap:${tap}`]);
    await a.waitForStderr(new RegExp(`created TAP ${tap} \\(removed when the analyzer exits\\)`));
    const sniffer = await sniff('tcpdump', tap, path.join(dir, 'tcpdump.pcap'));
    await replay(capture);
    await sniffer.stop();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.stderr()).toMatch(/final: .* written (\d+) unwritten 0 /);
    const input = readCaptureFile(capture).frames;
    const seen = readCaptureFile(sniffer.file).frames;
    expect(compareMultisets(bytesMultiset(input), bytesMultiset(seen))).toEqual({ missing: 0, extra: 0 });
    expect(linkExists(tap)).toBe(false);
  }, 60_000);

  it('--split 2: each connection on exactly one of two TAPs, every frame once', async () => {
    const capture = testCapture('zeek__modbus__modbusSmall.pcap');
    const a = analyzer(['--output', `tap:${tap}`, '--split', '2']);
    await a.waitForStderr(new RegExp(`created TAP ${tap}1`));
    const sniffers = [
      await sniff('tcpdump', `${tap}0`, path.join(dir, 'split0.pcap')),
      await sniff('tcpdump', `${tap}1`, path.join(dir, 'split1.pcap')),
    ];
    await replay(capture);
    await Promise.all(sniffers.map((s) => s.stop()));
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const outputs = sniffers.map((s) => readCaptureFile(s.file).frames);
    const input = readCaptureFile(capture).frames;
    expect(compareMultisets(bytesMultiset(input), bytesMultiset(outputs.flat()))).toEqual({
      missing: 0,
      extra: 0,
    });
    const where = new Map<string, Set<number>>();
    outputs.forEach((frames, i) => {
      for (const f of frames)
        where.set(conversation(f.data), (where.get(conversation(f.data)) ?? new Set()).add(i));
    });
    expect([...where.values()].filter((tapsOfConnection) => tapsOfConnection.size !== 1)).toEqual([]);
    for (const frames of outputs) expect(frames.length).toBeGreaterThan(0); // 16 connections: both get some
    expect(linkExists(`${tap}0`) || linkExists(`${tap}1`)).toBe(false);
  }, 60_000);

  it('a live tshark on the TAP sees the TCP conversations of the input, whole frames of up to 16 kB', async () => {
    const capture = testCapture('zeek__smb__smb3_multichannel.pcap');
    const a = analyzer(['--output', `tap:${tap}`]);
    await a.waitForStderr(/created TAP/);
    const sniffer = await sniff('tshark', tap, path.join(dir, 'tshark.pcapng'));
    await replay(capture);
    await sniffer.stop();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const expected = tcpConversations(capture);
    expect(expected.length).toBe(4);
    expect(tcpConversations(sniffer.file)).toEqual(expected);
  }, 60_000);
});
