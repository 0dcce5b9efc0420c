// Writes benchmark inputs: classic nanosecond pcap files of synthetic frames (IPv4/UDP
// over many flows, varying IP IDs) or of real corpus frames repeated. Setup only — this
// runs before the measured part, never on the packet path.
import fs from 'node:fs';
import path from 'node:path';
import { PcapFileWriter } from '../common/pcap-file-writer.js';
import { readCaptureFile } from '../native/capture-file.js';

/**
 * `count` IPv4/UDP frames over `flows` flows (both directions), 1 µs apart: 60 bytes each by
 * default (64 on the wire with the FCS), or `frameBytes` (a list: frame i has size i mod its length).
 */
export function writeSyntheticPcap(
  file: string,
  count: number,
  flows = 4096,
  frameBytes: number | readonly number[] = 60,
): void {
  const writer = new PcapFileWriter(file);
  const sizes = typeof frameBytes === 'number' ? [frameBytes] : frameBytes;
  const frame = Buffer.alloc(Math.max(...sizes));
  frame.write('020000000002020000000001', 0, 'hex');
  frame.writeUInt16BE(0x0800, 12);
  frame.writeUInt8(0x45, 14);
  frame.writeUInt8(64, 22);
  frame.writeUInt8(17, 23);
  const start = 1_795_000_000_000_000_000n;
  for (let i = 0; i < count; ++i) {
    const flow = i % flows;
    const reverse = (i >> 12) & 1;
    const a = 0xc6120000 + flow; // 198.18.x.x
    const b = 0xc6130000 + (flow >> 3);
    frame.writeUInt16BE(i & 0xffff, 18); // IP ID
    frame.writeUInt32BE(reverse ? b : a, 26);
    frame.writeUInt32BE(reverse ? a : b, 30);
    frame.writeUInt16BE(reverse ? 53 : 1024 + flow, 34);
    frame.writeUInt16BE(reverse ? 1024 + flow : 53, 36);
    const size = sizes[i % sizes.length]!;
    frame.writeUInt16BE(size - 14, 16); // IP total length
    writer.write(start + BigInt(i) * 1000n, frame.subarray(0, size));
  }
  writer.close();
}

/** At least `count` frames: the Ethernet corpus files' frames, repeated in order. */
export function writeCorpusPcap(file: string, corpusDir: string, count: number): number {
  const frames: Buffer[] = [];
  for (const name of fs.readdirSync(corpusDir).sort()) {
    const { frames: read } = readCaptureFile(path.join(corpusDir, name));
    for (const f of read) frames.push(f.data);
    if (frames.length > 200_000) break;
  }
  const writer = new PcapFileWriter(file);
  const start = 1_795_000_000_000_000_000n;
  let written = 0;
  while (written < count) {
    for (const frame of frames) {
      writer.write(start + BigInt(written) * 1000n, frame);
      if (++written >= count) break;
    }
  }
  writer.close();
  return frames.length;
}
