import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeIn } from '../helpers/temp-dir.js';
import { errorCode } from '../../common/errors.js';
import { readCaptureFile, type CaptureFileContents } from '../../native/capture-file.js';
import { testCapture, corpusFiles, HAVE_CORPUS } from '../helpers/captures.js';
import { thrownBy } from '../helpers/thrown.js';

const NS_PER_S = 1_000_000_000n;
const PCAP_SECONDS_WRAP = 2n ** 32n; // a classic pcap record holds seconds in 32 bits

const tmp = tempDir('capture-file');

const writeTemp = (name: string, bytes: Buffer): string => writeIn(tmp, name, bytes);

/** Writes `bytes` as `name` and reads them back as a capture, which must read without error. */
function readWritten(name: string, bytes: Buffer): CaptureFileContents {
  const result = readCaptureFile(writeTemp(name, bytes));
  expect(result.error).toBeNull();
  return result;
}

// ---------------------------------------------------------------------------------------
// Writers for hand-made captures, in either byte order.

class ByteWriter {
  private readonly parts: Buffer[] = [];
  constructor(private readonly bigEndian: boolean) {}
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.bigEndian) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    return this.bytes(b);
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    if (this.bigEndian) b.writeBigUInt64BE(BigInt.asUintN(64, v));
    else b.writeBigUInt64LE(BigInt.asUintN(64, v));
    return this.bytes(b);
  }
  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface PcapRecord {
  sec: number;
  frac: number; // microseconds or nanoseconds, as the magic says
  data: Buffer;
  capLen?: number; // written as is when given (for damaged records)
  wireLen?: number;
}

interface PcapOptions {
  bigEndian?: boolean;
  nano?: boolean;
  minor?: number;
  snaplen?: number;
  linkType?: number;
}

function pcapFile(options: PcapOptions, records: PcapRecord[]): Buffer {
  const w = new ByteWriter(options.bigEndian ?? false);
  w.u32(options.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(options.minor ?? 4)
    .u32(0)
    .u32(0);
  w.u32(options.snaplen ?? 65535).u32(options.linkType ?? 1);
  for (const r of records) {
    w.u32(r.sec)
      .u32(r.frac)
      .u32(r.capLen ?? r.data.length)
      .u32(r.wireLen ?? r.data.length)
      .bytes(r.data);
  }
  return w.build();
}

function pad4(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
}

function pcapngBlock(bigEndian: boolean, type: number, body: Buffer): Buffer {
  const padded = pad4(body);
  const length = padded.length + 12;
  return new ByteWriter(bigEndian).u32(type).u32(length).bytes(padded).u32(length).build();
}

function sectionHeader(bigEndian: boolean, major = 1): Buffer {
  const body = new ByteWriter(bigEndian).u32(0x1a2b3c4d).u16(major).u16(0).u64(-1n).build();
  return pcapngBlock(bigEndian, 0x0a0d0d0a, body);
}

/** A section in either byte order: its header, then `blocks`. */
function pcapngSection(bigEndian: boolean, ...blocks: Buffer[]): Buffer {
  return Buffer.concat([sectionHeader(bigEndian), ...blocks]);
}

function option(bigEndian: boolean, code: number, value: Buffer): Buffer {
  return new ByteWriter(bigEndian).u16(code).u16(value.length).bytes(pad4(value)).build();
}

const tsresol = (bigEndian: boolean, byte: number) => option(bigEndian, 9, Buffer.from([byte]));
const tsoffset = (bigEndian: boolean, seconds: bigint) =>
  option(bigEndian, 14, new ByteWriter(bigEndian).u64(seconds).build());
const ifName = (bigEndian: boolean, name: string) => option(bigEndian, 2, Buffer.from(name));

function interfaceDescription(
  bigEndian: boolean,
  linkType: number,
  snaplen: number,
  options: Buffer[] = [],
): Buffer {
  const w = new ByteWriter(bigEndian).u16(linkType).u16(0).u32(snaplen);
  for (const o of options) w.bytes(o);
  if (options.length > 0) w.u32(0); // opt_endofopt
  return pcapngBlock(bigEndian, 1, w.build());
}

function enhancedPacket(
  bigEndian: boolean,
  interfaceId: number,
  ticks: bigint,
  data: Buffer,
  wireLen = data.length,
): Buffer {
  const w = new ByteWriter(bigEndian)
    .u32(interfaceId)
    .u32(Number(ticks >> 32n))
    .u32(Number(ticks & 0xffffffffn));
  return pcapngBlock(bigEndian, 6, w.u32(data.length).u32(wireLen).bytes(data).build());
}

function obsoletePacket(bigEndian: boolean, interfaceId: number, ticks: bigint, data: Buffer): Buffer {
  const w = new ByteWriter(bigEndian)
    .u16(interfaceId)
    .u16(0)
    .u32(Number(ticks >> 32n))
    .u32(Number(ticks & 0xffffffffn));
  return pcapngBlock(bigEndian, 2, w.u32(data.length).u32(data.length).bytes(data).build());
}

function simplePacket(bigEndian: boolean, wireLen: number, data: Buffer): Buffer {
  return pcapngBlock(bigEndian, 3, new ByteWriter(bigEndian).u32(wireLen).bytes(data).build());
}

// A recognisable frame of `length` bytes.
function frameBytes(seed: number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff));
}

// ---------------------------------------------------------------------------------------
// tcpdump as the reference reader: `tcpdump -r FILE -w - --nano` rewrites what libpcap
// read as a nanosecond pcap, which is parsed here independently of the code under test.

interface ReferenceFrame {
  seconds: bigint; // as tcpdump wrote it: 32 bits
  nanos: bigint; // tcpdump's fraction field, wrapped at 32 bits if the original overflowed
  wireLen: number;
  data: Buffer;
}

function tcpdumpFrames(file: string): { frames: ReferenceFrame[]; stderr: string } {
  const run = spawnSync('tcpdump', ['-r', file, '-w', '-', '--nano'], { maxBuffer: 1 << 30 });
  if (run.error) throw run.error;
  const out = run.stdout;
  const stderr = run.stderr.toString().replace(/^reading from file.*\n/m, '');
  const frames: ReferenceFrame[] = [];
  if (out.length < 24) return { frames, stderr };
  expect(out.readUInt32LE(0)).toBe(0xa1b23c4d);
  for (let off = 24; off + 16 <= out.length;) {
    const capLen = out.readUInt32LE(off + 8);
    frames.push({
      seconds: BigInt(out.readUInt32LE(off)),
      nanos: BigInt(out.readUInt32LE(off + 4)),
      wireLen: out.readUInt32LE(off + 12),
      data: out.subarray(off + 16, off + 16 + capLen),
    });
    off += 16 + capLen;
  }
  return { frames, stderr };
}

// Differences between our frames and tcpdump's, as readable strings (empty when equal).
// Time stamps are compared as far as tcpdump's pcap output can hold them: seconds modulo
// 2^32, and not at all when its nanosecond field overflowed (fuzzed microsecond fields).
function differencesFromTcpdump(ours: CaptureFileContents, reference: ReferenceFrame[]): string[] {
  const found: string[] = [];
  if (ours.frames.length !== reference.length)
    found.push(`${ours.frames.length} frames, tcpdump ${reference.length}`);
  ours.frames.forEach((frame, i) => {
    const ref = reference[i];
    if (!ref) return;
    if (!frame.data.equals(ref.data)) found.push(`frame ${i + 1}: bytes differ`);
    if (frame.wireLen !== ref.wireLen)
      found.push(`frame ${i + 1}: wire length ${frame.wireLen}, tcpdump ${ref.wireLen}`);
    if (ref.nanos < NS_PER_S) {
      const wrapped = ((frame.tsNs / NS_PER_S) % PCAP_SECONDS_WRAP) * NS_PER_S + (frame.tsNs % NS_PER_S);
      const expected = ref.seconds * NS_PER_S + ref.nanos;
      if (wrapped !== expected) found.push(`frame ${i + 1}: time ${frame.tsNs}, tcpdump ${expected}`);
    }
  });
  return found;
}

function expectOneLineErrorNaming(result: CaptureFileContents, file: string): string {
  expect(result.error).toEqual(expect.any(String));
  const error = result.error as string;
  expect(error.startsWith(`${file}: `)).toBe(true);
  expect(error).not.toContain('\n');
  return error;
}

function framesAsPlainValues(result: CaptureFileContents) {
  return result.frames.map((f) => ({ tsNs: f.tsNs, wireLen: f.wireLen, data: f.data.toString('hex') }));
}

// ---------------------------------------------------------------------------------------

describe.skipIf(!HAVE_CORPUS)('readCaptureFile on the whole corpus (needs ../shared/corpus)', () => {
  it('reads every Ethernet capture to its end, frame for frame as tcpdump reads it', () => {
    const files = corpusFiles('ether');
    expect(files.length).toBeGreaterThan(600);
    const failures: string[] = [];
    let frames = 0;
    for (const file of files) {
      const ours = readCaptureFile(file);
      if (ours.error !== null) failures.push(ours.error);
      const reference = tcpdumpFrames(file);
      if (reference.stderr.trim() !== '') failures.push(`${file}: tcpdump says ${reference.stderr.trim()}`);
      for (const d of differencesFromTcpdump(ours, reference.frames))
        failures.push(`${path.basename(file)}: ${d}`);
      frames += ours.frames.length;
    }
    expect(failures).toEqual([]);
    expect(frames).toBeGreaterThan(10_000);
  }, 300_000);

  it('refuses every capture of another link type at once, naming its link type', () => {
    const files = corpusFiles('other-linktypes');
    expect(files.length).toBeGreaterThan(150);
    for (const file of files) {
      const result = readCaptureFile(file);
      const error = expectOneLineErrorNaming(result, file);
      expect(result.frames).toEqual([]);
      expect(error).toMatch(
        /link type \d+( \([A-Z0-9_]+\))? is not Ethernet; dicap reads Ethernet captures only/,
      );
      const header = fs.readFileSync(file);
      const magic = header.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
        expect(error).toContain(`: link type ${header.readUInt32LE(20) & 0xffff} `);
      }
    }
  }, 60_000);

  it('ends every unusual or corrupt file with a one-line error that names it', () => {
    const files = corpusFiles('unusual-or-corrupt');
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expectOneLineErrorNaming(readCaptureFile(file), file);
  });
});

describe('readCaptureFile on pcapng time stamps', () => {
  it('keeps time stamps past 2106 whole, as tshark reads them', () => {
    for (const name of ['tcpdump__time_2106_overflow.pcapng', 'tcpdump__time_2107.pcapng']) {
      const file = testCapture(name);
      const run = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch'], {
        encoding: 'utf8',
      });
      const expected = run.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const [seconds, fraction = ''] = line.trim().split('.');
          return BigInt(seconds as string) * NS_PER_S + BigInt(fraction.padEnd(9, '0').slice(0, 9));
        });
      const ours = readCaptureFile(file);
      expect(ours.error).toBeNull();
      expect(ours.frames.map((f) => f.tsNs)).toEqual(expected);
      expect(expected[0]).toBeGreaterThanOrEqual(PCAP_SECONDS_WRAP * NS_PER_S);
    }
  }, 60_000);
});

describe('readCaptureFile on hand-made classic pcap files', () => {
  const records: PcapRecord[] = [
    { sec: 1_700_000_000, frac: 123_456, data: frameBytes(1, 60) },
    { sec: 1_700_000_001, frac: 0, data: Buffer.alloc(0), wireLen: 0 }, // a valid frame of 0 bytes
    { sec: 4_000_000_000, frac: 999_999, data: frameBytes(3, 1514), wireLen: 9000 },
  ];

  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian ${nano ? 'nanosecond' : 'microsecond'} files as tcpdump does`, () => {
        const file = writeTemp(`classic-${bigEndian}-${nano}.pcap`, pcapFile({ bigEndian, nano }, records));
        const result = readCaptureFile(file);
        expect(result.error).toBeNull();
        expect(framesAsPlainValues(result)).toEqual(
          records.map((r) => ({
            tsNs: BigInt(r.sec) * NS_PER_S + BigInt(r.frac) * (nano ? 1n : 1000n),
            wireLen: r.wireLen ?? r.data.length,
            data: r.data.toString('hex'),
          })),
        );
        expect(differencesFromTcpdump(result, tcpdumpFrames(file).frames)).toEqual([]);
      });
    }
  }

  it('swaps the length fields of version 2.2 files, as libpcap does', () => {
    const data = frameBytes(4, 20);
    // Before 2.3 the wire length came first: these fields say 20 captured of 100.
    const file = writeTemp(
      'v22.pcap',
      pcapFile({ minor: 2 }, [{ sec: 1, frac: 2, data, capLen: 100, wireLen: 20 }]),
    );
    const result = readCaptureFile(file);
    expect(result.error).toBeNull();
    expect(result.frames[0]?.wireLen).toBe(100);
    expect(result.frames[0]?.data.equals(data)).toBe(true);
    expect(differencesFromTcpdump(result, tcpdumpFrames(file).frames)).toEqual([]);
  });

  it('hands out only the snapshot length of a longer record, as libpcap does, and goes on', () => {
    const file = writeTemp(
      'over-snaplen.pcap',
      pcapFile({ snaplen: 32 }, [
        { sec: 1, frac: 0, data: frameBytes(5, 100) },
        { sec: 2, frac: 0, data: frameBytes(6, 20) },
      ]),
    );
    const result = readCaptureFile(file);
    expect(result.error).toBeNull();
    expect(result.frames.map((f) => [f.data.length, f.wireLen])).toEqual([
      [32, 100],
      [20, 20],
    ]);
    expect(result.frames[0]?.data.equals(frameBytes(5, 100).subarray(0, 32))).toBe(true);
    expect(differencesFromTcpdump(result, tcpdumpFrames(file).frames)).toEqual([]);
  });

  it('passes a captured length above the wire length through, as libpcap does', () => {
    const result = readWritten(
      'cap-over-wire.pcap',
      pcapFile({}, [{ sec: 1, frac: 0, data: frameBytes(7, 64), wireLen: 60 }]),
    );
    expect(result.frames.map((f) => [f.data.length, f.wireLen])).toEqual([[64, 60]]);
  });

  it('carries a microsecond field of a second or more into the seconds', () => {
    const file = writeTemp(
      'big-usec.pcap',
      pcapFile({}, [{ sec: 10, frac: 2_500_000, data: frameBytes(8, 14) }]),
    );
    expect(readCaptureFile(file).frames[0]?.tsNs).toBe(12_500_000_000n);
  });

  it('refuses another link type in the file header with its name', () => {
    const file = writeTemp(
      'radiotap.pcap',
      pcapFile({ linkType: 127 }, [{ sec: 1, frac: 0, data: frameBytes(9, 30) }]),
    );
    expect(readCaptureFile(file)).toEqual({
      frames: [],
      error: `${file}: link type 127 (IEEE802_11_RADIOTAP) is not Ethernet; dicap reads Ethernet captures only`,
    });
    const unknown = writeTemp('lt-4242.pcap', pcapFile({ linkType: 4242, bigEndian: true }, []));
    expect(readCaptureFile(unknown).error).toBe(
      `${unknown}: link type 4242 is not Ethernet; dicap reads Ethernet captures only`,
    );
  });

  it('says where a record claims more than the maximum, after the frames before it', () => {
    const good = { sec: 1, frac: 0, data: frameBytes(10, 42) };
    const file = writeTemp(
      'huge.pcap',
      pcapFile({}, [good, { sec: 2, frac: 0, data: Buffer.alloc(8), capLen: 300_000 }]),
    );
    const result = readCaptureFile(file);
    expect(result.frames).toHaveLength(1);
    expect(result.error).toBe(
      `${file}: record at byte ${24 + 16 + 42} (after frame 1) claims 300000 bytes, more than the 262144 maximum; the file is corrupt`,
    );
  });

  it('says where the file was cut off', () => {
    const whole = pcapFile({}, [
      { sec: 1, frac: 0, data: frameBytes(11, 50) },
      { sec: 2, frac: 0, data: frameBytes(12, 50) },
    ]);
    const inHeader = writeTemp('cut-header.pcap', whole.subarray(0, 24 + 66 + 5));
    expect(readCaptureFile(inHeader).error).toMatch(
      new RegExp(
        `^${escapeRegExp(inHeader)}: truncated record header at byte 90 \\(after frame 1\\): 5 of 16 bytes`,
      ),
    );
    const inData = writeTemp('cut-data.pcap', whole.subarray(0, whole.length - 1));
    expect(readCaptureFile(inData).error).toMatch(
      new RegExp(
        `^${escapeRegExp(inData)}: truncated record at byte 90 \\(after frame 1\\): it claims 50 bytes, only 49 remain`,
      ),
    );
  });
});

describe('readCaptureFile on hand-made pcapng files', () => {
  it('reads nanosecond and 2^-20 resolutions, offsets, all three packet blocks and skips other blocks', () => {
    const be = false;
    const result = readWritten(
      'mixed.pcapng',
      pcapngSection(
        be,
        interfaceDescription(be, 1, 0, [ifName(be, 'eth0'), tsresol(be, 9)]),
        interfaceDescription(be, 1, 65535, [tsresol(be, 0x80 | 20), tsoffset(be, 1_000_000n)]),
        pcapngBlock(be, 5, Buffer.alloc(40)), // an Interface Statistics Block
        enhancedPacket(be, 0, 1_700_000_000_123_456_789n, frameBytes(20, 60)),
        enhancedPacket(be, 1, (5n << 20n) + (1n << 19n) + 1n, frameBytes(21, 61), 1500),
        pcapngBlock(be, 0x0bad, Buffer.from('a custom block')),
        obsoletePacket(be, 0, 42n, frameBytes(22, 62)),
        simplePacket(be, 63, frameBytes(23, 63)),
        enhancedPacket(be, 0, 7n, Buffer.alloc(0), 0),
      ),
    );
    expect(framesAsPlainValues(result)).toEqual([
      { tsNs: 1_700_000_000_123_456_789n, wireLen: 60, data: frameBytes(20, 60).toString('hex') },
      // 5 s + (2^19 + 1) / 2^20 s, truncated to ns, plus the 1000000 s offset
      { tsNs: 1_000_005_500_000_953n, wireLen: 1500, data: frameBytes(21, 61).toString('hex') },
      { tsNs: 42n, wireLen: 62, data: frameBytes(22, 62).toString('hex') },
      { tsNs: 0n, wireLen: 63, data: frameBytes(23, 63).toString('hex') }, // no time stamp
      { tsNs: 7n, wireLen: 0, data: '' },
    ]);
  });

  it('reads a big-endian file as tcpdump does', () => {
    const be = true;
    const file = writeTemp(
      'big-endian.pcapng',
      pcapngSection(
        be,
        interfaceDescription(be, 1, 262144, [tsresol(be, 0x80 | 20)]),
        enhancedPacket(be, 0, (1_600_000_000n << 20n) + 12345n, frameBytes(30, 70)),
        simplePacket(be, 200, frameBytes(31, 200)),
        obsoletePacket(be, 0, 3n << 20n, frameBytes(32, 10)),
      ),
    );
    const result = readCaptureFile(file);
    expect(result.error).toBeNull();
    expect(result.frames.map((f) => f.tsNs)).toEqual([1_600_000_000_011_773_109n, 0n, 3_000_000_000n]);
    expect(differencesFromTcpdump(result, tcpdumpFrames(file).frames)).toEqual([]);
  });

  it('reads several sections, each in its own byte order with its own interfaces', () => {
    const result = readWritten(
      'sections.pcapng',
      Buffer.concat([
        pcapngSection(
          false,
          interfaceDescription(false, 1, 0),
          enhancedPacket(false, 0, 1_000_000n, frameBytes(40, 20)),
        ),
        pcapngSection(
          true,
          interfaceDescription(true, 113, 0), // unused: harmless
          interfaceDescription(true, 1, 0, [tsresol(true, 3)]),
          enhancedPacket(true, 1, 2_000n, frameBytes(41, 21)),
        ),
      ]),
    );
    expect(result.frames.map((f) => [f.tsNs, f.data.length])).toEqual([
      [1_000_000_000n, 20],
      [2_000_000_000n, 21],
    ]);
  });

  it('clips a Simple Packet Block to the snapshot length of interface 0', () => {
    const result = readWritten(
      'spb-snaplen.pcapng',
      pcapngSection(false, interfaceDescription(false, 1, 16), simplePacket(false, 100, frameBytes(50, 16))),
    );
    expect(result.frames.map((f) => [f.data.length, f.wireLen])).toEqual([[16, 100]]);
  });

  it('refuses a capture whose first packet is from a non-Ethernet interface at once', () => {
    const file = writeTemp(
      'sll.pcapng',
      pcapngSection(
        false,
        interfaceDescription(false, 113, 0),
        enhancedPacket(false, 0, 1n, frameBytes(60, 30)),
      ),
    );
    expect(readCaptureFile(file)).toEqual({
      frames: [],
      error:
        `${file}: the packet block at byte 48 (before the first frame) is from interface 0, ` +
        'whose link type 113 (LINUX_SLL) is not Ethernet; dicap reads Ethernet captures only',
    });
  });

  it('judges a capture without packets by its first interface', () => {
    const ether = writeTemp('empty-ether.pcapng', pcapngSection(true, interfaceDescription(true, 1, 0)));
    expect(readCaptureFile(ether)).toEqual({ frames: [], error: null });
    const radiotap = writeTemp(
      'empty-radiotap.pcapng',
      pcapngSection(true, interfaceDescription(true, 127, 0)),
    );
    expect(readCaptureFile(radiotap).error).toBe(
      `${radiotap}: link type 127 (IEEE802_11_RADIOTAP) is not Ethernet; dicap reads Ethernet captures only`,
    );
  });

  it('stops at a later packet from a non-Ethernet interface, after the frames before it', () => {
    const file = writeTemp(
      'mixed-links.pcapng',
      pcapngSection(
        false,
        interfaceDescription(false, 1, 0),
        interfaceDescription(false, 0, 0),
        enhancedPacket(false, 0, 1n, frameBytes(61, 30)),
        enhancedPacket(false, 1, 2n, frameBytes(62, 30)),
      ),
    );
    const result = readCaptureFile(file);
    expect(result.frames).toHaveLength(1);
    expect(expectOneLineErrorNaming(result, file)).toContain(
      '(after frame 1) is from interface 1, whose link type 0 (NULL) is not Ethernet',
    );
  });

  const corrupt: Array<[string, Buffer, RegExp]> = [
    [
      'a packet of an undescribed interface',
      pcapngSection(
        false,
        interfaceDescription(false, 1, 0),
        enhancedPacket(false, 3, 1n, frameBytes(1, 10)),
      ),
      /packet block at byte 48 \(before the first frame\) refers to interface 3, but its section describes only 1; the file is corrupt$/,
    ],
    [
      'lengths that differ at the start and end of a block',
      pcapngSection(false, interfaceDescription(false, 1, 0).fill(0x55, 16)),
      /block at byte 28 \(before the first frame\) says its length is 20 at its start and 1431655765 at its end; the file is corrupt$/,
    ],
    [
      'a block length that is not a multiple of 4',
      pcapngSection(false, new ByteWriter(false).u32(1).u32(13).build(), Buffer.alloc(16)),
      /block at byte 28 \(before the first frame\) has length 13, which is not a multiple of 4 of at least 12; the file is corrupt$/,
    ],
    [
      'a packet that claims more than the maximum',
      pcapngSection(
        false,
        interfaceDescription(false, 1, 0),
        pcapngBlock(false, 6, new ByteWriter(false).u32(0).u32(0).u32(0).u32(300_000).u32(300_000).build()),
      ),
      /packet block at byte 48 \(before the first frame\) claims 300000 bytes, more than the 262144 maximum; the file is corrupt$/,
    ],
    [
      'a packet longer than its interface snapshot length',
      pcapngSection(false, interfaceDescription(false, 1, 8), enhancedPacket(false, 0, 1n, frameBytes(2, 9))),
      /packet block at byte 48 \(before the first frame\) has 9 bytes, more than the snapshot length 8 of interface 0; the file is corrupt$/,
    ],
    [
      'a time stamp before 1970',
      pcapngSection(
        false,
        interfaceDescription(false, 1, 0, [tsoffset(false, -10n)]),
        enhancedPacket(false, 0, 5_000_000n, frameBytes(3, 10)),
      ),
      /has a time stamp of 5 s plus an interface offset of -10 s, outside the years 1970 to 2554 that dicap represents/,
    ],
    [
      'an impossible time stamp resolution',
      pcapngSection(false, interfaceDescription(false, 1, 0, [tsresol(false, 20)])),
      /interface description at byte 28 \(before the first frame\) has time stamp resolution 10\^-20, finer than any clock/,
    ],
    [
      'two if_tsresol options',
      pcapngSection(false, interfaceDescription(false, 1, 0, [tsresol(false, 6), tsresol(false, 9)])),
      /interface description at byte 28 \(before the first frame\) has two if_tsresol options; the file is corrupt$/,
    ],
    [
      'an if_tsresol option of 2 bytes',
      pcapngSection(false, interfaceDescription(false, 1, 0, [option(false, 9, Buffer.from([6, 0]))])),
      /interface description at byte 28 \(before the first frame\) has an if_tsresol option that is not 1 byte; the file is corrupt$/,
    ],
    [
      'two if_tsoffset options',
      pcapngSection(false, interfaceDescription(false, 1, 0, [tsoffset(false, 1n), tsoffset(false, 2n)])),
      /interface description at byte 28 \(before the first frame\) has two if_tsoffset options; the file is corrupt$/,
    ],
    [
      'an if_tsoffset option of 4 bytes',
      pcapngSection(false, interfaceDescription(false, 1, 0, [option(false, 14, Buffer.alloc(4))])),
      /interface description at byte 28 \(before the first frame\) has an if_tsoffset option that is not 8 bytes; the file is corrupt$/,
    ],
    [
      'an option that runs past its block',
      pcapngSection(
        false,
        pcapngBlock(false, 1, new ByteWriter(false).u16(1).u16(0).u32(0).u16(2).u16(200).build()),
      ),
      /has option 2 of 200 bytes that runs past the end of the block; the file is corrupt$/,
    ],
    [
      'an unknown major version',
      sectionHeader(false, 2),
      /section at byte 0 \(before the first frame\) has pcapng version 2\.0, dicap reads version 1/,
    ],
    [
      'a wrong byte-order magic',
      Buffer.concat([
        sectionHeader(false).subarray(0, 8),
        Buffer.from([1, 2, 3, 4]),
        sectionHeader(false).subarray(12),
      ]),
      /section header at byte 0 \(before the first frame\) has byte-order magic 0x04030201 instead of 0x1a2b3c4d/,
    ],
  ];
  for (const [what, bytes, message] of corrupt) {
    it(`reports ${what} with its place`, () => {
      const file = writeTemp('corrupt.pcapng', bytes);
      const result = readCaptureFile(file);
      expect(expectOneLineErrorNaming(result, file)).toMatch(message);
      expect(result.frames).toEqual([]);
    });
  }
});

describe('readCaptureFile on files cut at every byte', () => {
  const cases: Array<[string, Buffer, number[]]> = (() => {
    const pcapRecords = [frameBytes(70, 20), Buffer.alloc(0), frameBytes(71, 9)];
    const pcap = pcapFile(
      { nano: true },
      pcapRecords.map((data, i) => ({ sec: i, frac: i, data })),
    );
    const pcapEnds = [24, 24 + 36, 24 + 36 + 16, pcap.length];
    const ngBlocks = [
      sectionHeader(true),
      interfaceDescription(true, 1, 0, [tsresol(true, 9)]),
      enhancedPacket(true, 0, 5n, frameBytes(72, 13)),
      pcapngBlock(true, 4, Buffer.alloc(8)), // a Name Resolution Block: skipped
      simplePacket(true, 3, frameBytes(73, 3)),
      obsoletePacket(true, 0, 6n, frameBytes(74, 1)),
    ];
    const ng = Buffer.concat(ngBlocks);
    const ngEnds = ngBlocks.map((_, i) => Buffer.concat(ngBlocks.slice(0, i + 1)).length);
    return [
      ['classic pcap', pcap, pcapEnds],
      ['pcapng', ng, ngEnds],
    ];
  })();

  for (const [format, whole, blockEnds] of cases) {
    it(`${format}: every prefix ends cleanly at a record boundary and with a one-line error elsewhere`, () => {
      const complete = framesAsPlainValues(readCaptureFile(writeTemp(`whole-${format}`, whole)));
      expect(complete).toHaveLength(3);
      const file = path.join(tmp, `prefix-${format}`);
      for (let cut = 0; cut < whole.length; cut++) {
        fs.writeFileSync(file, whole.subarray(0, cut));
        const result = readCaptureFile(file);
        expect(framesAsPlainValues(result)).toEqual(complete.slice(0, result.frames.length));
        if (blockEnds.includes(cut)) {
          expect({ cut, error: result.error }).toEqual({ cut, error: null });
        } else {
          expectOneLineErrorNaming(result, file);
        }
      }
    });
  }
});

describe('readCaptureFile arguments and unreadable files', () => {
  const file = writeTemp(
    'three.pcap',
    pcapFile(
      {},
      [0, 1, 2].map((i) => ({ sec: i, frac: 0, data: frameBytes(i, 14) })),
    ),
  );

  it('stops after maxFrames without an error', () => {
    const two = readCaptureFile(file, 2);
    expect(two.error).toBeNull();
    expect(two.frames.map((f) => f.tsNs)).toEqual([0n, 1_000_000_000n]);
    expect(readCaptureFile(file, 0)).toEqual({ frames: [], error: null });
  });

  it('throws DICAP_ERR_ARGUMENT for bad arguments', () => {
    for (const call of [
      () => readCaptureFile(''),
      () => readCaptureFile(file, -1),
      () => readCaptureFile(file, 1.5),
    ]) {
      expect(errorCode(thrownBy(call))).toBe('DICAP_ERR_ARGUMENT');
    }
  });

  it('names the file and the problem when it cannot be read as a capture', () => {
    const missing = path.join(tmp, 'missing.pcap');
    expect(readCaptureFile(missing).error).toBe(`${missing}: cannot open: No such file or directory`);
    expect(readCaptureFile(tmp).error).toMatch(
      /: is a directory, not a regular file; dicap reads capture files only/,
    );
    expect(readCaptureFile('/dev/zero').error).toMatch(
      /^\/dev\/zero: is a character device, not a regular file; dicap reads capture files only \(save a stream to a file first/,
    );
    const empty = writeTemp('empty.pcap', Buffer.alloc(0));
    expect(readCaptureFile(empty).error).toBe(
      `${empty}: only 0 bytes long, too short to be a pcap or pcapng file`,
    );
    const text = writeTemp('notes.txt', Buffer.from('hello, this is text\n'));
    expect(readCaptureFile(text).error).toBe(
      `${text}: not a pcap or pcapng file (it starts with bytes 68 65 6c 6c); ` +
        'if it is a capture in another format, convert it with `editcap -F pcap IN OUT`',
    );
    const future = writeTemp(
      'v3.pcap',
      Buffer.concat([pcapFile({}, []).subarray(0, 4), Buffer.from([3, 0, 0, 0]), Buffer.alloc(16)]),
    );
    expect(readCaptureFile(future).error).toMatch(
      /: pcap version 3\.0 is not supported \(dicap reads 2\.0 to 2\.4\)/,
    );
  });
});

describe('readCaptureFile on files larger than its read buffer, and on FIFOs', () => {
  // The reader reads 256 KiB at a time: these files make records straddle many refills.
  it('reads a pcap of records up to the 262144-byte maximum across many buffer refills', () => {
    const sizes = [60, 1514, 262144, 9000, 131072, 1, 0, 65535, 262144, 262144, 777, 262144, 3];
    const records = Array.from({ length: 40 }, (_, i) => {
      const length = sizes[i % sizes.length]!;
      return { sec: 1_700_000_000 + i, frac: i, data: frameBytes(i, length) };
    });
    const file = writeTemp('big.pcap', pcapFile({ snaplen: 262144 }, records));
    expect(fs.statSync(file).size).toBeGreaterThan(3 << 20);
    const result = readCaptureFile(file);
    expect(result.error).toBeNull();
    expect(result.frames.map((f) => f.data.toString('hex'))).toEqual(
      records.map((r) => r.data.toString('hex')),
    );
    expect(result.frames.map((f) => f.tsNs)).toEqual(
      records.map((r) => BigInt(r.sec) * NS_PER_S + BigInt(r.frac) * 1000n),
    );
  });

  it('reads past a pcapng block larger than 16 MiB that it skips, and refuses a packet block that large', () => {
    const huge = pcapngBlock(false, 0x00000bad, Buffer.alloc((17 << 20) + 4, 0x5a));
    const packet = enhancedPacket(false, 0, 5_000_000n, frameBytes(1, 100));
    const skipped = writeTemp(
      'huge-custom.pcapng',
      pcapngSection(false, interfaceDescription(false, 1, 0), packet, huge, packet),
    );
    const read = readCaptureFile(skipped);
    expect(read.error).toBeNull();
    expect(read.frames.map((f) => f.data.toString('hex'))).toEqual([
      frameBytes(1, 100).toString('hex'),
      frameBytes(1, 100).toString('hex'),
    ]);
    const cut = writeTemp(
      'huge-custom-cut.pcapng',
      pcapngSection(false, interfaceDescription(false, 1, 0), packet, huge.subarray(0, 5 << 20)),
    );
    const cutResult = readCaptureFile(cut);
    expect(cutResult.frames).toHaveLength(1);
    expect(cutResult.error).toMatch(
      /: truncated block at byte \d+ \(after frame 1\): its length is \d+ bytes, only 5242880 remain/,
    );
    const hugePacket = Buffer.from(huge);
    hugePacket.writeUInt32LE(6, 0);
    const refused = writeTemp(
      'huge-packet.pcapng',
      pcapngSection(false, interfaceDescription(false, 1, 0), packet, hugePacket),
    );
    const refusedResult = readCaptureFile(refused);
    expect(refusedResult.frames).toHaveLength(1);
    expect(refusedResult.error).toMatch(
      /: block at byte \d+ \(after frame 1\) of type 6 has length 17825808, more than the 16777216 bytes such a block can need; the file is corrupt$/,
    );
  });

  it('refuses a FIFO at once with one line instead of waiting for a writer', () => {
    const fifo = path.join(tmp, 'stream.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // In a child process: before the fix, open() waited for a writer for good.
    const reader = path.resolve('dist', 'native', 'capture-file.js');
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { readCaptureFile } from ${JSON.stringify(reader)}; console.log(JSON.stringify(readCaptureFile(${JSON.stringify(fifo)})));`,
      ],
      { timeout: 20_000, encoding: 'utf8' },
    );
    expect(run.signal, 'the reader did not return within 20 s').toBeNull();
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      frames: [],
      error:
        `${fifo}: is a FIFO, not a regular file; dicap reads capture files only ` +
        '(save a stream to a file first, e.g. `tcpdump -w FILE`, or capture live with --interface)',
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
