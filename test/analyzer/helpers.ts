// Test helpers for the analyzer: frames and header batches (built with the protocol's own
// encoder), a UDP sender, a strict pcap reader, and tcpdump as an independent reader.
import dgram from 'node:dgram';
import { afterAll, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AnalyzerSink,
  type AnalyzerNodeCounters,
  type AnalyzerSinkCounters,
  type AnalyzerSinkOptions,
} from '../../native/analyzer-sink.js';
import { encodeHeaderBatch, type BatchRecord } from '../../protocol/header-batch.js';

/** A 64-byte IPv4/UDP frame 198.18.0.1:(1000+i) → 198.18.0.2:53 with IPv4 ID i. */
export function testFrame(i: number): Buffer {
  const frame = Buffer.alloc(64);
  Buffer.from('020000000002020000000001', 'hex').copy(frame, 0);
  frame.writeUInt16BE(0x0800, 12);
  const ip = Buffer.from('450000320000000040110000c6120001c6120002', 'hex');
  ip.writeUInt16BE(i & 0xffff, 4);
  ip.copy(frame, 14);
  frame.writeUInt16BE(1000 + (i % 60000), 34);
  frame.writeUInt16BE(53, 36);
  frame.writeUInt16BE(30, 38);
  frame.writeUInt32BE(i, 42); // payload: the index, to tell frames apart byte for byte
  return frame;
}

/** `count` records with distinct timestamps and frames, cut to `capLen` bytes (wire length 64). */
export function testRecords(first: number, count: number, capLen = 54): BatchRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      tsSec: 1_700_000_000 + i,
      tsNsec: (i * 7919) % 1_000_000_000,
      wireLen: 64,
      data: testFrame(i).subarray(0, capLen),
    };
  });
}

export interface BatchSpec {
  nodeId: number;
  epoch: number;
  stream: number;
  seq: number;
  records: BatchRecord[];
}

export function batch(spec: BatchSpec): Buffer {
  return encodeHeaderBatch({ ...spec, seq: BigInt(spec.seq) });
}

/** Sends datagrams one after another from one socket (loopback keeps their order). */
export class UdpSender {
  private readonly socket = dgram.createSocket('udp4');

  constructor(private readonly port: number) {}

  async send(datagrams: readonly Buffer[]): Promise<void> {
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) =>
        this.socket.send(d, this.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
    }
  }

  async close(): Promise<void> {
    this.socket.close();
    await once(this.socket, 'close');
  }
}

/** A free UDP (or TCP) port on 127.0.0.1 right now, for processes that must be given one. */
export interface PcapRecord {
  tsSec: number;
  tsNsec: number;
  origLen: number;
  data: Buffer;
}

/** Reads a nanosecond, little-endian, Ethernet pcap exactly as the analyzer must write it; throws on anything else. */
export function readPcap(bytes: Buffer, snaplen = 65535): PcapRecord[] {
  if (bytes.length < 24) throw new Error(`pcap of ${bytes.length} bytes has no file header`);
  const header = {
    magic: bytes.readUInt32LE(0),
    major: bytes.readUInt16LE(4),
    minor: bytes.readUInt16LE(6),
    zone: bytes.readInt32LE(8),
    sigfigs: bytes.readUInt32LE(12),
    snaplen: bytes.readUInt32LE(16),
    linktype: bytes.readUInt32LE(20),
  };
  const expected = {
    magic: 0xa1b23c4d,
    major: 2,
    minor: 4,
    zone: 0,
    sigfigs: 0,
    snaplen,
    linktype: 1,
  };
  if (JSON.stringify(header) !== JSON.stringify(expected))
    throw new Error(`pcap header ${JSON.stringify(header)} is not ${JSON.stringify(expected)}`);
  const records: PcapRecord[] = [];
  let offset = 24;
  while (offset < bytes.length) {
    if (offset + 16 > bytes.length) throw new Error(`pcap record header cut off at ${offset}`);
    const inclLen = bytes.readUInt32LE(offset + 8);
    if (offset + 16 + inclLen > bytes.length) throw new Error(`pcap record at ${offset} cut off`);
    if (inclLen > snaplen)
      throw new Error(`pcap record at ${offset} has ${inclLen} bytes, more than snaplen ${snaplen}`);
    records.push({
      tsSec: bytes.readUInt32LE(offset),
      tsNsec: bytes.readUInt32LE(offset + 4),
      origLen: bytes.readUInt32LE(offset + 12),
      data: Buffer.from(bytes.subarray(offset + 16, offset + 16 + inclLen)),
    });
    offset += 16 + inclLen;
  }
  return records;
}

/** What the pcap must hold for these records, in order. */
export function expectedPcapRecords(records: readonly BatchRecord[]): PcapRecord[] {
  return records.map((r) => ({
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    origLen: Math.min(r.wireLen, 65535),
    data: Buffer.from(r.data),
  }));
}

/** tcpdump's one-line-per-frame reading of a pcap file: `SECONDS.NANOSECONDS …`. */
export function tcpdumpLines(file: string): string[] {
  const out = execFileSync('tcpdump', ['-r', file, '-nn', '-tt', '--time-stamp-precision=nano'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.split('\n').filter((line) => line.length > 0);
}

export function tcpdumpTimestamp(record: { tsSec: number; tsNsec: number }): string {
  return `${record.tsSec}.${String(record.tsNsec).padStart(9, '0')}`;
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface PcapngInterface {
  linktype: number;
  snaplen: number;
  name: string;
  tsresol: number;
}

export interface PcapngPacket extends PcapRecord {
  interface: number;
  comment?: string;
}

/**
 * Reads a little-endian pcapng as the analyzer must write it: one Section Header, Interface
 * Descriptions before their first packet, Enhanced Packets; throws on anything else.
 */
export function readPcapng(bytes: Buffer): { interfaces: PcapngInterface[]; packets: PcapngPacket[] } {
  const interfaces: PcapngInterface[] = [];
  const packets: PcapngPacket[] = [];
  let offset = 0;
  const options = (from: number, to: number): Map<number, Buffer> => {
    const found = new Map<number, Buffer>();
    let o = from;
    while (o < to) {
      const code = bytes.readUInt16LE(o);
      const length = bytes.readUInt16LE(o + 2);
      if (code === 0) break;
      found.set(code, bytes.subarray(o + 4, o + 4 + length));
      o += 4 + length + ((4 - (length % 4)) % 4);
    }
    return found;
  };
  while (offset < bytes.length) {
    const type = bytes.readUInt32LE(offset);
    const length = bytes.readUInt32LE(offset + 4);
    if (
      length % 4 !== 0 ||
      offset + length > bytes.length ||
      bytes.readUInt32LE(offset + length - 4) !== length
    )
      throw new Error(`pcapng block at ${offset} has a bad length ${length}`);
    if (offset === 0) {
      if (type !== 0x0a0d0d0a || bytes.readUInt32LE(8) !== 0x1a2b3c4d)
        throw new Error('no pcapng section header');
    } else if (type === 1) {
      const o = options(offset + 16, offset + length - 4);
      interfaces.push({
        linktype: bytes.readUInt16LE(offset + 8),
        snaplen: bytes.readUInt32LE(offset + 12),
        name: o.get(2)?.toString('utf8') ?? '',
        tsresol: o.get(9)?.[0] ?? 6,
      });
    } else if (type === 6) {
      const iface = bytes.readUInt32LE(offset + 8);
      if (iface >= interfaces.length)
        throw new Error(`packet at ${offset} names interface ${iface} before its description`);
      const ts = (BigInt(bytes.readUInt32LE(offset + 12)) << 32n) | BigInt(bytes.readUInt32LE(offset + 16));
      const capLen = bytes.readUInt32LE(offset + 20);
      if (capLen > interfaces[iface]!.snaplen)
        throw new Error(`packet at ${offset} exceeds its interface's snaplen`);
      const dataEnd = offset + 28 + capLen;
      const comment = options(dataEnd + ((4 - (capLen % 4)) % 4), offset + length - 4).get(1);
      packets.push({
        interface: iface,
        tsSec: Number(ts / 1_000_000_000n),
        tsNsec: Number(ts % 1_000_000_000n),
        origLen: bytes.readUInt32LE(offset + 24),
        data: Buffer.from(bytes.subarray(offset + 28, dataEnd)),
        ...(comment ? { comment: comment.toString('utf8') } : {}),
      });
    } else {
      throw new Error(`unexpected pcapng block type ${type} at ${offset}`);
    }
    offset += length;
  }
  return { interfaces, packets };
}

/** Sinks on 127.0.0.1 with their senders and output files, stopped and removed by the test file's hooks. */
export class SinkHarness {
  readonly dir: string;
  private readonly running: AnalyzerSink[] = [];
  private readonly senders: UdpSender[] = [];
  private files = 0;

  constructor(prefix: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  readonly tmpFile = (name: string): string => path.join(this.dir, `${++this.files}-${name}`);

  readonly startSink = (
    output: string,
    options: Partial<AnalyzerSinkOptions> = {},
  ): { sink: AnalyzerSink; sender: UdpSender } => {
    const sink = new AnalyzerSink({ host: '127.0.0.1', port: 0, output, ...options });
    const { port } = sink.start();
    this.running.push(sink);
    const sender = new UdpSender(port);
    this.senders.push(sender);
    return { sink, sender };
  };

  readonly waitForDatagrams = async (sink: AnalyzerSink, count: number): Promise<void> => {
    await waitUntil(
      () => sink.counters().datagrams >= count,
      `${count} datagrams at the sink (have ${sink.counters().datagrams})`,
    );
  };

  /** Stops `sink` with the others after the test. */
  track(sink: AnalyzerSink): void {
    this.running.push(sink);
  }

  /** For afterEach. */
  async stopAll(): Promise<void> {
    for (const sink of this.running.splice(0)) sink.stop();
    await Promise.all(this.senders.splice(0).map((s) => s.close()));
  }

  /** For afterAll. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A SinkHarness for a whole test file: its sinks and senders stopped after each test, its folder removed after the file. */
export function sinkHarnessForFile(prefix: string): SinkHarness {
  const harness = new SinkHarness(prefix);
  afterEach(() => harness.stopAll());
  afterAll(() => harness.remove());
  return harness;
}

export function node(counters: AnalyzerSinkCounters, nodeId: number): AnalyzerNodeCounters {
  const found = counters.nodes.find((n) => n.nodeId === nodeId);
  if (!found) throw new Error(`no counters for node ${nodeId}`);
  return found;
}
