// The seed inputs of each fuzz target, written fresh into a directory per target before
// every run: the repository's capture files and protocol/SPEC.md §5's test vectors, the
// encoders' own output (protocol/), hand-made pcapng blocks the corpus may lack, and
// ../shared/corpus when it is there. Setup only: nothing here runs on the packet path.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { encodeHeaderBatch, encodeRecordFragments } from '../../protocol/header-batch.js';
import { encodeInbandFrame } from '../../protocol/inband-frame.js';
import { readCaptureFile } from '../capture-file.js';

/** Frames and the authenticated TOPOLOGY_UPDATE of SPEC §5, as hex in the spec's code blocks. */
export function specVectors(repo: string): { frames: Buffer[]; topologyUpdate: Buffer } {
  const spec = fs.readFileSync(path.join(repo, 'protocol', 'SPEC.md'), 'utf8');
  const section = spec.slice(spec.indexOf('## 5. Test vectors'), spec.indexOf('## 6.'));
  const frames = [...section.matchAll(/^[a-z0-9-]+ +([0-9a-f]{28,})$/gm)].map((m) =>
    Buffer.from(m[1]!, 'hex'),
  );
  const message = section.match(/^(4443[0-9a-f]+)$/m);
  if (frames.length === 0 || !message) throw new Error('protocol/SPEC.md §5: no test vectors found');
  return { frames, topologyUpdate: Buffer.from(message[1]!, 'hex') };
}

/** Capture files under `dir` (not in node_modules, dist, build or .git), sorted. */
export function captureFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'build', '.git'].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...captureFilesUnder(full));
    else if (entry.isFile() && /\.(pcap|pcapng|cap)$/i.test(entry.name)) found.push(full);
  }
  return found.sort();
}

// A little-endian pcapng of every block kind the reader handles: a section header, an
// interface description with if_tsresol and if_tsoffset, an Enhanced, a Simple and an
// obsolete Packet Block and a block to skip.
function handMadePcapng(frame: Buffer): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(padded.length + 12, 4);
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(padded.length + 12, 0);
    return Buffer.concat([head, padded, tail]);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8 + 8 + 12 + 4);
  idb.writeUInt16LE(1, 0);
  idb.writeUInt32LE(262144, 4);
  idb.writeUInt16LE(9, 8); // if_tsresol: 10^-9
  idb.writeUInt16LE(1, 10);
  idb.writeUInt8(9, 12);
  idb.writeUInt16LE(14, 16); // if_tsoffset
  idb.writeUInt16LE(8, 18);
  idb.writeBigInt64LE(1000n, 20);
  const packet = (interfaceField: Buffer): Buffer => {
    const fixed = Buffer.alloc(16);
    fixed.writeUInt32LE(0x178, 0);
    fixed.writeUInt32LE(0x9abcdef0, 4);
    fixed.writeUInt32LE(frame.length, 8);
    fixed.writeUInt32LE(frame.length, 12);
    return Buffer.concat([interfaceField, fixed, frame]);
  };
  const simple = Buffer.alloc(4);
  simple.writeUInt32LE(frame.length, 0);
  return Buffer.concat([
    block(0x0a0d0d0a, shb),
    block(1, idb),
    block(6, packet(Buffer.alloc(4))),
    block(3, Buffer.concat([simple, frame])),
    block(2, packet(Buffer.alloc(4))),
    block(0xbad, Buffer.from('skipped')),
  ]);
}

class SeedDir {
  count = 0;
  constructor(readonly dir: string) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  add(bytes: Buffer): void {
    const name = createHash('sha1').update(bytes).digest('hex');
    const file = path.join(this.dir, name);
    if (!fs.existsSync(file)) this.count++;
    fs.writeFileSync(file, bytes);
  }
}

/** A frame of the in-band target's input format (inband_frame_fuzzer.cc). */
function inbandRecord(flags: number, frame: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(flags, 0);
  head.writeUInt16BE(frame.length, 1);
  return Buffer.concat([head, frame]);
}

/** A datagram of the header-batch target's input format (header_batch_fuzzer.cc), 1 ms after the last. */
function batchRecord(flags: number, datagram: Buffer): Buffer {
  const head = Buffer.from([flags, 1, 0, 0]);
  head.writeUInt16BE(datagram.length, 2);
  return Buffer.concat([head, datagram]);
}

/**
 * Writes every target's seeds under `seedsRoot/<target>` and returns how many each got.
 * `sharedCorpus`: the team's capture corpus, or undefined when it is absent.
 */
export function writeSeeds(
  repo: string,
  seedsRoot: string,
  sharedCorpus: string | undefined,
): Record<string, number> {
  const { frames: specFrames, topologyUpdate } = specVectors(repo);
  const dirs = {
    capture_file: new SeedDir(path.join(seedsRoot, 'capture_file')),
    frame_key: new SeedDir(path.join(seedsRoot, 'frame_key')),
    control_message: new SeedDir(path.join(seedsRoot, 'control_message')),
    inband_frame: new SeedDir(path.join(seedsRoot, 'inband_frame')),
    header_batch: new SeedDir(path.join(seedsRoot, 'header_batch')),
  };
  // capture_file: byte 0 picks the read chunk (128 bytes here), the rest is the file.
  const chunk128 = Buffer.from([3]);
  const specPcap = path.join(seedsRoot, 'spec-frames.pcap');
  const writer = new PcapFileWriter(specPcap);
  specFrames.forEach((frame, i) => writer.write(1_795_000_000_000_000_000n + BigInt(i) * 1000n, frame));
  writer.close();
  const captures = [
    specPcap,
    ...captureFilesUnder(repo),
    ...(sharedCorpus ? captureFilesUnder(sharedCorpus) : []),
  ];
  for (const file of captures) dirs.capture_file.add(Buffer.concat([chunk128, fs.readFileSync(file)]));
  dirs.capture_file.add(Buffer.concat([chunk128, handMadePcapng(specFrames[0]!)]));
  fs.rmSync(specPcap);

  // frame_key: the spec's frames and up to 2000 distinct frames of the captures.
  const frames = new Map<string, Buffer>();
  for (const frame of specFrames) frames.set(frame.toString('hex'), frame);
  for (const file of captures) {
    if (frames.size >= 2000) break;
    for (const { data } of readCaptureFile(file, 200).frames) frames.set(data.toString('hex'), data);
  }
  for (const frame of frames.values()) dirs.frame_key.add(frame);

  // control_message: byte 0 bit 0 = sign; the spec's message as it is and re-signed, and as
  // every other message type (signed, so only the type differs).
  dirs.control_message.add(Buffer.concat([Buffer.from([0]), topologyUpdate]));
  for (let type = 1; type <= 13; ++type) {
    const message = Buffer.from(topologyUpdate);
    message[3] = type;
    dirs.control_message.add(Buffer.concat([Buffer.from([1]), message]));
  }
  // The same with SELECTION_STAGE and SELECTION_REASON (113, 114: value ranges in any body)
  // before the trailer, as a capture node's JOIN and HEARTBEAT carry them.
  const trailerStart = topologyUpdate.length - 10 * 5;
  const withStage = Buffer.concat([
    topologyUpdate.subarray(0, trailerStart),
    Buffer.from('71000000017200000003', 'hex'),
    topologyUpdate.subarray(trailerStart),
  ]);
  withStage.writeUInt16BE(topologyUpdate.readUInt16BE(4) + 2, 4);
  dirs.control_message.add(Buffer.concat([Buffer.from([1]), withStage]));

  // inband_frame: the spec's in-band frame in each selection mode, then the spec's frames.
  const mac = Buffer.from('020000000009', 'hex');
  for (const selection of ['01', '02', '03']) {
    const message = Buffer.from(
      topologyUpdate.toString('hex').replace('0600000003', `06000000${selection}`),
      'hex',
    );
    const traffic = specFrames.map((frame) => inbandRecord(0, frame));
    dirs.inband_frame.add(
      Buffer.concat([Buffer.from([0]), inbandRecord(1, encodeInbandFrame(mac, message)), ...traffic]),
    );
  }
  dirs.inband_frame.add(
    Buffer.concat([Buffer.from([1]), inbandRecord(0, encodeInbandFrame(mac, topologyUpdate))]),
  );

  // header_batch (header_batch_fuzzer.cc's format): runs of datagrams of the spec's frames,
  // with and without a MAC (flag 1: the target signs it), a record split into fragments,
  // and seq 0 followed by 2^64-1.
  const records = specFrames.map((data, i) => ({
    tsSec: 1_795_000_000,
    tsNsec: i,
    wireLen: data.length,
    data,
  }));
  const someKey = Buffer.alloc(32, 7); // the target re-signs under its own key
  const header = { nodeId: 11, epoch: 42, stream: 0 };
  const run = (signed: boolean, datagrams: Buffer[]) =>
    Buffer.concat([Buffer.from([0]), ...datagrams.map((d) => batchRecord(signed ? 1 : 0, d))]);
  for (const key of [undefined, someKey]) {
    const batches = [0n, 1n, 3n, 2n, 3n].map((seq) => encodeHeaderBatch({ ...header, seq, records }, key));
    dirs.header_batch.add(run(key !== undefined, batches));
    const big = { tsSec: 1_795_000_000, tsNsec: 0, wireLen: 3000, data: Buffer.alloc(3000, 0x42) };
    dirs.header_batch.add(
      run(key !== undefined, encodeRecordFragments({ ...header, seq: 5n }, big, 1472, key)),
    );
  }
  dirs.header_batch.add(
    run(
      false,
      [0n, 0xffffffffffffffffn].map((seq) =>
        encodeHeaderBatch({ ...header, seq, records: records.slice(0, 1) }),
      ),
    ),
  );

  return Object.fromEntries(Object.entries(dirs).map(([target, dir]) => [target, dir.count]));
}
