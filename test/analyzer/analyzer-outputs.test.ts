// The analyzer's outputs, in this process (real UDP on 127.0.0.1 into AnalyzerSink): pcapng
// with one interface per node, a truthful snaplen, files that are never overwritten,
// rotation by size, time and count, SIGHUP reopen, --split over files by flow, and
// --reorder-ms. tshark and capinfos read the files as independent readers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { AnalyzerSink, type AnalyzerSinkOptions } from '../../native/analyzer-sink.js';
import type { BatchRecord } from '../../protocol/header-batch.js';
import {
  batch,
  expectedPcapRecords,
  readPcap,
  readPcapng,
  testFrame,
  testRecords,
  UdpSender,
  waitUntil,
} from './helpers.js';

const tmp = tempDir('outputs');
const running: AnalyzerSink[] = [];
const senders: UdpSender[] = [];

afterEach(async () => {
  for (const sink of running.splice(0)) sink.stop();
  await Promise.all(senders.splice(0).map((s) => s.close()));
});

let dirCount = 0;
function freshDir(): string {
  const dir = path.join(tmp, String(++dirCount));
  fs.mkdirSync(dir);
  return dir;
}

function startSink(options: Omit<AnalyzerSinkOptions, 'host' | 'port'>): {
  sink: AnalyzerSink;
  sender: UdpSender;
  notices: string[];
} {
  const sink = new AnalyzerSink({ host: '127.0.0.1', port: 0, flushIntervalMs: 1, ...options });
  const { port, notices } = sink.start();
  running.push(sink);
  const sender = new UdpSender(port);
  senders.push(sender);
  return { sink, sender, notices };
}

async function sendAndStop(sink: AnalyzerSink, sender: UdpSender, datagrams: Buffer[]): Promise<void> {
  await sender.send(datagrams);
  await waitUntil(() => sink.counters().datagrams >= datagrams.length, `${datagrams.length} datagrams`);
  sink.stop();
}

/** The frame of testFrame(i) in the other direction (198.18.0.2:53 → 198.18.0.1:1000+i). */
function reversed(frame: Buffer): Buffer {
  const r = Buffer.from(frame);
  frame.copy(r, 0, 6, 12);
  frame.copy(r, 6, 0, 6);
  frame.copy(r, 26, 30, 34);
  frame.copy(r, 30, 26, 30);
  frame.copy(r, 34, 36, 38);
  frame.copy(r, 36, 34, 36);
  return r;
}

/** A direction-free name of the frame's UDP conversation. */
function conversation(frame: Buffer): string {
  const a = `${frame.subarray(26, 30).join('.')}:${frame.readUInt16BE(34)}`;
  const b = `${frame.subarray(30, 34).join('.')}:${frame.readUInt16BE(36)}`;
  return [a, b].sort().join(' ');
}

describe('analyzer outputs', () => {
  it('writes pcapng with one interface per node (node-ID, nanoseconds), the epoch as a comment when it changes; tshark and capinfos agree', async () => {
    const file = path.join(freshDir(), 'three.pcapng');
    const { sink, sender } = startSink({ output: file, format: 'pcapng' });
    const sent: Array<{ node: number; epoch: number; records: BatchRecord[] }> = [];
    let next = 0;
    for (let seq = 0; seq < 3; seq++) {
      for (const node of [11, 22, 33]) {
        const epoch = seq < 2 ? 5 : 6;
        const records = testRecords(next, 4, 14 + (next % 51));
        next += 4;
        sent.push({ node, epoch, records });
      }
    }
    await sendAndStop(
      sink,
      sender,
      sent.map((s, i) =>
        batch({ nodeId: s.node, epoch: s.epoch, stream: 0, seq: Math.floor(i / 3), records: s.records }),
      ),
    );
    const { interfaces, packets } = readPcapng(fs.readFileSync(file));
    expect(interfaces.map((i) => i.name)).toEqual(['node-11', 'node-22', 'node-33']);
    for (const i of interfaces) expect(i).toMatchObject({ linktype: 1, snaplen: 65535, tsresol: 9 });
    const expected = sent.flatMap((s) =>
      expectedPcapRecords(s.records).map((r, k) => ({
        ...r,
        interface: [11, 22, 33].indexOf(s.node),
        ...(k === 0 && (s.epoch === 6 || sent.indexOf(s) < 3) ? { comment: `epoch ${s.epoch}` } : {}),
      })),
    );
    expect(packets).toEqual(expected);

    const capinfos = execFileSync('capinfos', ['-I', file], { encoding: 'utf8' });
    expect(capinfos).toMatch(/Number of interfaces in file: 3/);
    const tshark = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name'], {
      encoding: 'utf8',
    });
    expect(tshark.trim().split('\n')).toEqual(sent.flatMap((s) => s.records.map(() => `node-${s.node}`)));
  });

  it('claims its snaplen truthfully in pcap and pcapng, cutting longer records to it', async () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const file = path.join(freshDir(), `cut.${format}`);
      const { sink, sender } = startSink({ output: file, format, snaplen: 40 });
      const records = testRecords(0, 5, 54);
      await sendAndStop(sink, sender, [batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records })]);
      const cut = expectedPcapRecords(records).map((r) => ({ ...r, data: r.data.subarray(0, 40) }));
      if (format === 'pcap') {
        expect(readPcap(fs.readFileSync(file), 40)).toEqual(cut);
      } else {
        const { interfaces, packets } = readPcapng(fs.readFileSync(file));
        expect(interfaces[0]!.snaplen).toBe(40);
        expect(packets.map(({ tsSec, tsNsec, origLen, data }) => ({ tsSec, tsNsec, origLen, data }))).toEqual(
          cut,
        );
      }
    }
  });

  it('never overwrites a capture: an existing file is moved aside to FILE.N (one notice), the new one is 0640', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'keep.pcap');
    const first = testRecords(0, 3);
    const run1 = startSink({ output: file });
    await sendAndStop(run1.sink, run1.sender, [
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: first }),
    ]);
    const firstBytes = fs.readFileSync(file);
    fs.writeFileSync(`${file}.7`, 'an older capture');

    const second = testRecords(10, 2);
    const run2 = startSink({ output: file });
    expect(run2.notices).toEqual([
      `moved the existing ${file} aside to ${file}.8 (a capture is never overwritten)`,
    ]);
    await sendAndStop(run2.sink, run2.sender, [
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: second }),
    ]);
    expect(fs.readFileSync(`${file}.8`)).toEqual(firstBytes);
    expect(fs.readFileSync(`${file}.7`, 'utf8')).toBe('an older capture');
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(second));
    const umask = process.umask();
    expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~umask);
  });

  it('rotates by size, keeps --rotate-count files of this run, and reopens on request (SIGHUP)', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'ring.pcap');
    fs.writeFileSync(`${file}.1`, 'from before this run');
    const { sink, sender } = startSink({ output: file, rotateMegabytes: 1, rotateCount: 3 });
    // 60 datagrams of 900 records of 70 pcap bytes each: 3.78 MB, so ring.pcap.2 … 4 at least.
    const datagrams = Array.from({ length: 60 }, (_, seq) =>
      batch({ nodeId: 1, epoch: 1, stream: 0, seq, records: testRecords(seq * 900, 900) }),
    );
    await sender.send(datagrams);
    await waitUntil(() => sink.counters().recordsWritten === 54_000, 'all records written');
    const opened = sink.counters().filesOpened;
    expect(opened).toBeGreaterThanOrEqual(4);
    // The newest 3 files of this run (ring.pcap and two rotated), and the older capture.
    const names = fs.readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(names).toEqual(['ring.pcap', 'ring.pcap.1', `ring.pcap.${opened - 1}`, `ring.pcap.${opened}`]);
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('from before this run');
    for (const n of [opened - 1, opened]) {
      const size = fs.statSync(`${file}.${n}`).size;
      expect(size).toBeGreaterThanOrEqual(1_000_000);
      expect(size).toBeLessThan(1_000_000 + 70);
      readPcap(fs.readFileSync(`${file}.${n}`));
    }

    sink.reopen();
    await waitUntil(() => sink.counters().filesOpened === opened + 1, 'the reopen');
    const after = testRecords(100_000, 3);
    await sendAndStop(sink, sender, [batch({ nodeId: 1, epoch: 1, stream: 0, seq: 60, records: after })]);
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(after));
    const c = sink.counters();
    expect(c).toMatchObject({ recordsWritten: 54_003, recordsUnwritten: 0, outputState: 'closed' });
  });

  it('rotates by time', async () => {
    const file = path.join(freshDir(), 'timed.pcap');
    const { sink } = startSink({ output: file, rotateSeconds: 1 });
    await waitUntil(() => sink.counters().filesOpened >= 2, 'a rotation after 1 s', 3000);
    sink.stop();
    expect(readPcap(fs.readFileSync(`${file}.1`))).toEqual([]);
  });

  it('--split 2 puts each connection, both directions, in exactly one of two files', async () => {
    const dir = freshDir();
    const { sink, sender, notices } = startSink({ output: path.join(dir, 'flows.pcap'), split: 2 });
    expect(notices).toEqual([]);
    const records: BatchRecord[] = [];
    for (let i = 0; i < 200; i++) {
      for (const data of [testFrame(i), reversed(testFrame(i))])
        records.push({ tsSec: 1_700_000_000, tsNsec: records.length, wireLen: 64, data });
    }
    await sendAndStop(sink, sender, [
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: records.slice(0, 200) }),
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 1, records: records.slice(200) }),
    ]);
    const where = new Map<string, Set<number>>();
    let total = 0;
    for (const index of [0, 1]) {
      const read = readPcap(fs.readFileSync(path.join(dir, `flows${index}.pcap`)));
      expect(read.length).toBeGreaterThan(100); // both get a fair share of 200 connections
      total += read.length;
      for (const r of read) {
        const set = where.get(conversation(r.data)) ?? new Set<number>();
        set.add(index);
        where.set(conversation(r.data), set);
      }
    }
    expect(total).toBe(400);
    expect(where.size).toBe(200);
    for (const files of where.values()) expect(files.size).toBe(1);
    expect(sink.counters().outputs.map((o) => o.name)).toEqual([
      path.join(dir, 'flows0.pcap'),
      path.join(dir, 'flows1.pcap'),
    ]);
  });

  it('--reorder-ms merges the nodes into time order within the window and counts what comes later', async () => {
    const file = path.join(freshDir(), 'ordered.pcap');
    const { sink, sender } = startSink({ output: file, reorderMs: 500 });
    const at = (ms: number, i: number): BatchRecord => ({
      tsSec: 1_700_000_000 + Math.floor(ms / 1000),
      tsNsec: (ms % 1000) * 1_000_000,
      wireLen: 64,
      data: testFrame(i),
    });
    // Node 1 is 100 ms behind node 2; both within the 500 ms window.
    const node1 = [0, 100, 200, 300].map((ms, i) => at(ms, i));
    const node2 = [50, 150, 250, 350].map((ms, i) => at(ms, 10 + i));
    await sender.send([
      batch({ nodeId: 2, epoch: 1, stream: 0, seq: 0, records: node2 }),
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: node1 }),
    ]);
    // A frame far newer pushes the first ones out; then one older than those released is late.
    await sender.send([batch({ nodeId: 2, epoch: 1, stream: 0, seq: 1, records: [at(2000, 20)] })]);
    await waitUntil(() => sink.counters().recordsWritten >= 8, 'the window to release the first eight');
    await sender.send([batch({ nodeId: 1, epoch: 1, stream: 0, seq: 1, records: [at(10, 21)] })]);
    await waitUntil(() => sink.counters().reorderLateRecords === 1, 'the late record');
    sink.stop();
    const order = readPcap(fs.readFileSync(file)).map(
      (r) => r.tsSec * 1000 + r.tsNsec / 1e6 - 1_700_000_000_000,
    );
    expect(order).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 10, 2000]);
    expect(sink.counters()).toMatchObject({
      recordsWritten: 10,
      reorderLateRecords: 1,
      reorderHeldRecords: 0,
    });
  });
});
