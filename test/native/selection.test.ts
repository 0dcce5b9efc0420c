// The C++ selection functions (native/src/frame_key.h, flow_owner_table.h) through the
// addon bindings: the SPEC.md §5 vectors, the parse rules of §4 case by case, bounds
// safety on short and random frames, and agreement with the TypeScript implementation
// (protocol/selection.ts) on every frame of the Ethernet corpus and on random frames.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../common/errors.js';
import { native } from '../../native/addon.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { flowHash, flowOwner, ipidHash, parseFrame } from '../../protocol/selection.js';
import { testCapture, corpusFiles, HAVE_CORPUS } from '../helpers/captures.js';
import { thrownBy } from '../helpers/thrown.js';
import { FRAME_VECTORS, K0, K1, NODE_IDS } from '../protocol/vectors.js';

interface NativeFrameKey {
  a: number;
  p: number;
  proto: number;
  hasIpv4Id: boolean;
  ipv4Id: number;
  ethertype: number;
  l3Offset: number;
}

const parseFrameKey = (frame: Buffer): NativeFrameKey => native.parseFrameKey(frame) as NativeFrameKey;
const nativeFlowHash = (frame: Buffer, k0: number): number => native.flowHash(frame, k0) as number;
const nativeIpidHash = (id: number, k0: number): number => native.ipidHash(id, k0) as number;
const nativeFlowOwner = (bucket: number, nodeIds: number[], k1: number): number =>
  native.flowOwnerPosition(bucket, nodeIds, k1) as number;

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// ---- §5 test vectors ----

const NODES = [...NODE_IDS];

describe('SPEC.md §5 vectors through the C++ selection', () => {
  it.each(FRAME_VECTORS)('$name: flow hash, bucket, flow owner, ipid hash and ipid owner', (v) => {
    const frame = hex(v.hex);
    const hash = nativeFlowHash(frame, K0);
    expect(hash).toBe(v.flowHash);
    const bucket = hash & 4095;
    expect(bucket).toBe(v.bucket);
    expect(nativeFlowOwner(bucket, NODES, K1)).toBe(v.flowOwner);

    const key = parseFrameKey(frame);
    expect(key.hasIpv4Id).toBe(v.ipidHash !== undefined);
    // ipid mode: IPv4 frames by ipid_hash, all other frames by flow_hash.
    const ipidModeHash = key.hasIpv4Id ? nativeIpidHash(key.ipv4Id, K0) : hash;
    if (v.ipidHash !== undefined) expect(ipidModeHash).toBe(v.ipidHash);
    expect(ipidModeHash % NODES.length).toBe(v.ipidOwner);
  });

  it('parses the ipv4-tcp vector into the §4 fields', () => {
    expect(parseFrameKey(hex(FRAME_VECTORS[0]!.hex))).toEqual({
      a: (0xc6120001 ^ 0xc6130007) >>> 0,
      p: 0x9c40 ^ 0x01bb,
      proto: 6,
      hasIpv4Id: true,
      ipv4Id: 0x1c46,
      ethertype: 0x0800,
      l3Offset: 14,
    });
  });
});

// ---- frame builders for the parse rules ----

const MACS = hex('020000000002 020000000001');
const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);

function ethernet(etherType: number, payload: Buffer, tags: number[] = []): Buffer {
  return Buffer.concat([
    MACS,
    ...tags.flatMap((tpid, i) => [u16(tpid), u16(100 + i)]),
    u16(etherType),
    payload,
  ]);
}

function ipv4(opts: {
  proto?: number;
  id?: number;
  flagsOffset?: number;
  ihl?: number;
  src?: string;
  dst?: string;
  l4?: Buffer;
}): Buffer {
  const ihl = opts.ihl ?? 5;
  const header = Buffer.alloc(ihl * 4);
  header[0] = 0x40 | ihl;
  header.writeUInt16BE(opts.id ?? 0x4242, 4);
  header.writeUInt16BE(opts.flagsOffset ?? 0x4000, 6);
  header[8] = 64;
  header[9] = opts.proto ?? 17;
  hex(opts.src ?? 'c6120001').copy(header, 12);
  hex(opts.dst ?? 'c6130007').copy(header, 16);
  return Buffer.concat([header, opts.l4 ?? hex('d43100350000')]);
}

const IPV6_SRC = '20010db8000000000000000000000001';
const IPV6_DST = '20010db8000000000000000000000002';

function ipv6(next: number, rest: Buffer, src = IPV6_SRC, dst = IPV6_DST): Buffer {
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(rest.length, 4);
  header[6] = next;
  header[7] = 64;
  hex(src).copy(header, 8);
  hex(dst).copy(header, 24);
  return Buffer.concat([header, rest]);
}

/** An IPv6 extension header of `length` bytes whose next header is `next`. */
function extension(type: number, next: number, length: number): Buffer {
  const ext = Buffer.alloc(length);
  ext[0] = next;
  ext[1] = type === 51 ? length / 4 - 2 : type === 44 ? 0 : length / 8 - 1;
  return ext;
}

const UDP_PORTS = hex('d4310035 00080000'); // 54321 -> 53
const UDP_P = 54321 ^ 53;

function macWord(frame: Buffer): number {
  return (frame.readUInt32BE(0) ^ frame.readUInt32BE(4) ^ frame.readUInt32BE(8)) >>> 0;
}

/** What §4 says for "anything else": MAC words, p = 0, proto = the EtherType. */
function nonIpKey(frame: Buffer, etherType: number, l3Offset: number): NativeFrameKey {
  return {
    a: macWord(frame),
    p: 0,
    proto: etherType,
    hasIpv4Id: false,
    ipv4Id: 0,
    ethertype: etherType,
    l3Offset,
  };
}

describe('ParseFrameKey rules (SPEC.md §4)', () => {
  it('gives every frame shorter than 14 bytes an all-zero key (position 0 is the caller’s rule)', () => {
    const full = hex(FRAME_VECTORS[0]!.hex);
    for (let len = 0; len < 14; len++) {
      expect(parseFrameKey(full.subarray(0, len))).toEqual({
        a: 0,
        p: 0,
        proto: 0,
        hasIpv4Id: false,
        ipv4Id: 0,
        ethertype: 0,
        l3Offset: 0,
      });
      expect(nativeFlowHash(full.subarray(0, len), K0)).toBe(nativeFlowHash(Buffer.alloc(0), K0));
    }
  });

  it('reads a bare Ethernet header (14 bytes) as a non-IP frame', () => {
    const frame = ethernet(0x0800, Buffer.alloc(0));
    expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x0800, 14));
  });

  it.each([
    ['802.1Q', [0x8100]],
    ['802.1ad', [0x88a8]],
    ['0x9100', [0x9100]],
    ['QinQ 802.1ad + 802.1Q', [0x88a8, 0x8100]],
    ['QinQ 0x9100 + 802.1Q', [0x9100, 0x8100]],
  ])('sees through %s tags to the same key as untagged', (_name, tags) => {
    const untagged = parseFrameKey(ethernet(0x0800, ipv4({})));
    const tagged = parseFrameKey(ethernet(0x0800, ipv4({}), tags));
    expect(tagged).toEqual({ ...untagged, l3Offset: 14 + 4 * tags.length });
    expect(tagged.p).toBe(UDP_P);
  });

  it('skips at most two VLAN tags: a third leaves its TPID as the EtherType', () => {
    const frame = ethernet(0x0800, ipv4({}), [0x88a8, 0x8100, 0x8100]);
    expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x8100, 22));
  });

  it('does not skip a VLAN tag whose TCI or inner EtherType is cut off', () => {
    for (const len of [14, 15, 16, 17]) {
      const frame = ethernet(0x0800, ipv4({}), [0x8100]).subarray(0, len);
      expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x8100, 14));
    }
    const withInnerType = ethernet(0x0800, Buffer.alloc(0), [0x8100]);
    expect(parseFrameKey(withInnerType)).toEqual(nonIpKey(withInnerType, 0x0800, 18));
  });

  it('treats an in-band topology EtherType (0x88B5) frame as non-IP, for §2 to claim first', () => {
    const frame = ethernet(0x88b5, hex('4443010300'));
    expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x88b5, 14));
  });

  describe('IPv4', () => {
    it('falls back to the MAC words when the 20-byte header is cut off', () => {
      const full = ethernet(0x0800, ipv4({}));
      for (let len = 14; len < 34; len++) {
        const frame = full.subarray(0, len);
        expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x0800, 14));
      }
    });

    it('falls back when IHL promises options that are not there, or IHL < 5, or the version is not 4', () => {
      const withOptions = ethernet(0x0800, ipv4({ ihl: 6, l4: Buffer.alloc(0) })).subarray(0, 14 + 23);
      expect(parseFrameKey(withOptions)).toEqual(nonIpKey(withOptions, 0x0800, 14));
      const shortIhl = ethernet(0x0800, ipv4({}));
      shortIhl[14] = 0x44;
      expect(parseFrameKey(shortIhl)).toEqual(nonIpKey(shortIhl, 0x0800, 14));
      const version6 = ethernet(0x0800, ipv4({}));
      version6[14] = 0x65;
      expect(parseFrameKey(version6)).toEqual(nonIpKey(version6, 0x0800, 14));
    });

    it('reads ports after IP options', () => {
      const frame = ethernet(0x0800, ipv4({ ihl: 7, proto: 6 }));
      expect(parseFrameKey(frame)).toMatchObject({ proto: 6, p: UDP_P, hasIpv4Id: true, ipv4Id: 0x4242 });
    });

    it('keeps the IPv4 key but p = 0 when the port bytes are cut off', () => {
      const frame = ethernet(0x0800, ipv4({ l4: hex('d43100') }));
      expect(parseFrameKey(frame)).toEqual({
        a: (0xc6120001 ^ 0xc6130007) >>> 0,
        p: 0,
        proto: 17,
        hasIpv4Id: true,
        ipv4Id: 0x4242,
        ethertype: 0x0800,
        l3Offset: 14,
      });
    });

    it.each([
      ['TCP', 6, UDP_P],
      ['UDP', 17, UDP_P],
      ['SCTP', 132, UDP_P],
      ['UDP-Lite', 136, UDP_P],
      ['ICMP', 1, 0],
      ['GRE', 47, 0],
    ])('uses ports for %s only when the protocol has them', (_name, proto, p) => {
      expect(parseFrameKey(ethernet(0x0800, ipv4({ proto }))).p).toBe(p);
    });

    it('gives every fragment of a datagram the same key (p = 0): MF set, or an offset', () => {
      const first = parseFrameKey(ethernet(0x0800, ipv4({ flagsOffset: 0x2000 })));
      const middle = parseFrameKey(
        ethernet(0x0800, ipv4({ flagsOffset: 0x2000 | 185, l4: hex('deadbeef') })),
      );
      const last = parseFrameKey(ethernet(0x0800, ipv4({ flagsOffset: 370, l4: hex('cafe') })));
      expect(first.p).toBe(0);
      expect(middle).toEqual(first);
      expect(last).toEqual(first);
      const unfragmented = parseFrameKey(ethernet(0x0800, ipv4({ flagsOffset: 0x4000 })));
      expect(unfragmented.p).toBe(UDP_P);
    });

    it('is symmetric: both directions of a connection hash alike', () => {
      const forward = ethernet(
        0x0800,
        ipv4({ proto: 6, src: 'c6120005', dst: 'c6130009', l4: hex('c0000050') }),
      );
      const backward = ethernet(
        0x0800,
        ipv4({ proto: 6, src: 'c6130009', dst: 'c6120005', l4: hex('0050c000') }),
      );
      expect(nativeFlowHash(forward, 0xdeadbeef)).toBe(nativeFlowHash(backward, 0xdeadbeef));
    });
  });

  describe('IPv6', () => {
    const a6 = (() => {
      const both = hex(IPV6_SRC + IPV6_DST);
      let a = 0;
      for (let i = 0; i < 32; i += 4) a ^= both.readUInt32BE(i);
      return a >>> 0;
    })();
    const v6 = (proto: number, p: number): NativeFrameKey => ({
      a: a6,
      p,
      proto,
      hasIpv4Id: false,
      ipv4Id: 0,
      ethertype: 0x86dd,
      l3Offset: 14,
    });

    it('falls back to the MAC words when the 40-byte header is cut off or the version is not 6', () => {
      const full = ethernet(0x86dd, ipv6(17, UDP_PORTS));
      for (const len of [14, 15, 40, 53]) {
        const frame = full.subarray(0, len);
        expect(parseFrameKey(frame)).toEqual(nonIpKey(frame, 0x86dd, 14));
      }
      expect(parseFrameKey(full.subarray(0, 54))).toEqual(v6(17, 0)); // header whole, no ports
      const version4 = Buffer.from(full);
      version4[14] = 0x40;
      expect(parseFrameKey(version4)).toEqual(nonIpKey(version4, 0x86dd, 14));
    });

    it.each([
      ['hop-by-hop (0)', 0, 8],
      ['hop-by-hop (0), 24 bytes', 0, 24],
      ['routing (43)', 43, 16],
      ['destination options (60)', 60, 8],
      ['authentication header (51), counted in 4-byte units', 51, 12],
      ['authentication header (51), 24 bytes', 51, 24],
    ])('walks %s to the transport ports', (_name, type, length) => {
      const frame = ethernet(0x86dd, ipv6(type, Buffer.concat([extension(type, 17, length), UDP_PORTS])));
      expect(parseFrameKey(frame)).toEqual(v6(17, UDP_P));
    });

    it('walks a chain of extension headers', () => {
      const chain = Buffer.concat([
        extension(0, 60, 8),
        extension(60, 43, 16),
        extension(43, 51, 8),
        extension(51, 6, 16),
        UDP_PORTS,
      ]);
      expect(parseFrameKey(ethernet(0x86dd, ipv6(0, chain)))).toEqual(v6(6, UDP_P));
    });

    it('marks a fragment header (44) as a fragment: p = 0, proto = the next header after it', () => {
      const first = ethernet(0x86dd, ipv6(44, Buffer.concat([extension(44, 17, 8), UDP_PORTS])));
      const later = ethernet(
        0x86dd,
        ipv6(44, Buffer.concat([extension(44, 17, 8), hex('0102030405060708')])),
      );
      expect(parseFrameKey(first)).toEqual(v6(17, 0));
      expect(parseFrameKey(later)).toEqual(v6(17, 0));
    });

    it('stops at a cut-off extension header: proto = its type, p = 0', () => {
      const full = ethernet(0x86dd, ipv6(0, Buffer.concat([extension(0, 17, 16), UDP_PORTS])));
      for (const cut of [54, 55, 56, 69]) {
        expect(parseFrameKey(full.subarray(0, cut))).toEqual(v6(0, 0));
      }
      expect(parseFrameKey(full.subarray(0, 70))).toEqual(v6(17, 0)); // header whole, ports cut off
      expect(parseFrameKey(full)).toEqual(v6(17, UDP_P));
      const cutInChain = ethernet(
        0x86dd,
        ipv6(60, Buffer.concat([extension(60, 44, 8), extension(44, 17, 8)])),
      ).subarray(0, 14 + 40 + 8 + 5);
      expect(parseFrameKey(cutInChain)).toEqual(v6(44, 0));
    });

    it('walks at most 8 extension headers; the 9th one’s type is the protocol', () => {
      const nine = Buffer.concat([...Array.from({ length: 9 }, () => extension(60, 60, 8)), UDP_PORTS]);
      expect(parseFrameKey(ethernet(0x86dd, ipv6(60, nine)))).toEqual(v6(60, 0));
      const eight = Buffer.concat([
        ...Array.from({ length: 7 }, () => extension(60, 60, 8)),
        extension(60, 17, 8),
        UDP_PORTS,
      ]);
      expect(parseFrameKey(ethernet(0x86dd, ipv6(60, eight)))).toEqual(v6(17, UDP_P));
    });

    it('stops at protocols it does not walk (ESP 50, no next header 59)', () => {
      expect(parseFrameKey(ethernet(0x86dd, ipv6(50, UDP_PORTS)))).toEqual(v6(50, 0));
      expect(parseFrameKey(ethernet(0x86dd, ipv6(59, UDP_PORTS)))).toEqual(v6(59, 0));
    });

    it('is symmetric through VLAN tags', () => {
      const forward = ethernet(0x86dd, ipv6(6, hex('c0000050'), IPV6_SRC, IPV6_DST), [0x8100]);
      const backward = ethernet(0x86dd, ipv6(6, hex('0050c000'), IPV6_DST, IPV6_SRC), [0x8100]);
      expect(nativeFlowHash(forward, 7)).toBe(nativeFlowHash(backward, 7));
    });
  });
});

describe('FlowOwnerTable (rendezvous hashing of the 4096 buckets)', () => {
  const NODE_SETS = [
    [11, 22, 33],
    [7],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    [0xffffffff, 0, 0x80000000],
    [400, 300, 200, 100],
  ];

  it('agrees with protocol/selection.ts on every bucket', () => {
    for (const nodes of NODE_SETS) {
      for (const k1 of [0, K1, 0xffffffff]) {
        for (let bucket = 0; bucket < 4096; bucket += 7) {
          expect(nativeFlowOwner(bucket, nodes, k1)).toBe(flowOwner(bucket, nodes, k1));
        }
      }
    }
  });

  it('picks the same node whatever order the topology lists the nodes in', () => {
    const listed = [400, 300, 200, 100];
    const sorted = [100, 200, 300, 400];
    for (let bucket = 0; bucket < 4096; bucket += 13) {
      expect(listed[nativeFlowOwner(bucket, listed, K1)]).toBe(sorted[nativeFlowOwner(bucket, sorted, K1)]);
    }
  });

  it('moves only the leaving node’s buckets when a node leaves', () => {
    const before = [11, 22, 33, 44];
    const after = [11, 22, 44];
    let moved = 0;
    for (let bucket = 0; bucket < 4096; bucket++) {
      const ownerBefore = before[nativeFlowOwner(bucket, before, K1)];
      const ownerAfter = after[nativeFlowOwner(bucket, after, K1)];
      if (ownerBefore !== 33) expect(ownerAfter).toBe(ownerBefore);
      else moved++;
    }
    expect(moved).toBeGreaterThan(4096 / 4 - 200);
    expect(moved).toBeLessThan(4096 / 4 + 200);
  });

  it('gives a listed-twice node ID to its first position', () => {
    for (let bucket = 0; bucket < 4096; bucket += 101) {
      const position = nativeFlowOwner(bucket, [5, 5], K1);
      expect(position).toBe(0);
    }
  });
});

describe('selection bindings reject misuse with DICAP_ERR_ARGUMENT', () => {
  it.each([
    ['flowHash without a Buffer', () => native.flowHash('0800', 1)],
    ['flowHash with k0 over 32 bits', () => native.flowHash(Buffer.alloc(20), 2 ** 32)],
    ['flowHash with a fractional k0', () => native.flowHash(Buffer.alloc(20), 1.5)],
    ['ipidHash with an ID over 16 bits', () => native.ipidHash(0x10000, 1)],
    ['parseFrameKey of a string', () => native.parseFrameKey('frame')],
    ['flowOwnerPosition with bucket 4096', () => native.flowOwnerPosition(4096, [1], 0)],
    ['flowOwnerPosition with no nodes', () => native.flowOwnerPosition(0, [], 0)],
    ['flowOwnerPosition with a negative node ID', () => native.flowOwnerPosition(0, [1, -1], 0)],
  ])('%s', (_name, call) => {
    expect(errorCode(thrownBy(call))).toBe('DICAP_ERR_ARGUMENT');
  });
});

// ---- agreement with the TypeScript implementation ----

function expectSameAsTypeScript(frame: Buffer, k0: number): void {
  const ours = parseFrameKey(frame);
  const theirs = parseFrame(frame);
  expect({
    a: ours.a,
    p: ours.p,
    proto: ours.proto,
    ipv4Id: ours.hasIpv4Id ? ours.ipv4Id : undefined,
  }).toEqual({
    a: theirs.a,
    p: theirs.p,
    proto: theirs.proto,
    ipv4Id: theirs.ipv4Id,
  });
  expect(nativeFlowHash(frame, k0)).toBe(flowHash(frame, k0));
  if (ours.hasIpv4Id) expect(nativeIpidHash(ours.ipv4Id, k0)).toBe(ipidHash(theirs.ipv4Id!, k0));
}

describe.skipIf(!HAVE_CORPUS)('every frame of the corpus (needs ../shared/corpus)', () => {
  const captureFiles = (folder: string): string[] =>
    corpusFiles(folder).filter((name) => /\.(pcap|pcapng|cap)$/.test(name));

  it('parses without fault and hashes as protocol/selection.ts does (flow hash and ipid hash)', () => {
    let frames = 0;
    let ipv4 = 0;
    let ipv6 = 0;
    for (const file of [...captureFiles('ether'), ...captureFiles('unusual-or-corrupt')]) {
      for (const { data } of readCaptureFile(file).frames) {
        expectSameAsTypeScript(data, 0x1234);
        const key = parseFrameKey(data);
        if (key.hasIpv4Id) ipv4++;
        if (key.ethertype === 0x86dd) ipv6++;
        frames++;
      }
    }
    // The corpus is varied: make sure this really walked many IPv4 and IPv6 frames.
    expect(frames).toBeGreaterThan(10_000);
    expect(ipv4).toBeGreaterThan(1_000);
    expect(ipv6).toBeGreaterThan(500);
  });
});

describe('frames cut short', () => {
  it('survives every prefix of frames with VLAN tags and IPv6 extension headers', () => {
    let checked = 0;
    for (const name of [
      'tcpdump__802.1ad_QinQ.pcap',
      'tcpdump__OSPFv3_with_AH.pcap',
      'tcpdump__bigtcp-ipv6.pcap',
    ]) {
      for (const { data } of readCaptureFile(testCapture(name), 50).frames) {
        for (let len = 0; len <= Math.min(data.length, 160); len++) {
          expectSameAsTypeScript(Buffer.from(data.subarray(0, len)), 99);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('random frames', () => {
  it('random bytes parse identically in C++ and TypeScript', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.nat(), (bytes, k0) => {
        expectSameAsTypeScript(Buffer.from(bytes), k0 >>> 0);
      }),
      { numRuns: 3000 },
    );
  });

  // Random bytes rarely look like IP: build frames with tags, an IP version and extension
  // headers, then cut them anywhere, to reach the deep branches of both parsers.
  it('structured frames cut at any length parse identically in C++ and TypeScript', () => {
    const tpid = fc.constantFrom(0x8100, 0x88a8, 0x9100);
    const extType = fc.constantFrom(0, 43, 60, 51, 44, 6, 17, 132, 136, 58, 50);
    const structured = fc
      .record({
        tags: fc.array(tpid, { maxLength: 3 }),
        v6: fc.boolean(),
        first: extType,
        chain: fc.array(
          fc.record({
            next: extType,
            units: fc.nat(3),
            filler: fc.uint8Array({ minLength: 24, maxLength: 24 }),
          }),
          { maxLength: 10 },
        ),
        ihl: fc.integer({ min: 0, max: 15 }),
        flags: fc.constantFrom(0x0000, 0x4000, 0x2000, 0x0001, 0x3fff),
        tail: fc.uint8Array({ maxLength: 80 }),
        cut: fc.nat(),
      })
      .map(({ tags, v6, first, chain, ihl, flags, tail, cut }) => {
        let l3: Buffer;
        if (v6) {
          const exts = chain.map(({ next, units, filler }) => {
            const ext = Buffer.from(filler.subarray(0, 8 * (units + 1)));
            ext[0] = next;
            ext[1] = units;
            return ext;
          });
          l3 = ipv6(first, Buffer.concat([...exts, Buffer.from(tail)]));
        } else {
          const header = ipv4({
            proto: first,
            flagsOffset: flags,
            ihl: Math.max(ihl, 5),
            l4: Buffer.from(tail),
          });
          header[0] = 0x40 | ihl;
          l3 = header;
        }
        const frame = ethernet(v6 ? 0x86dd : 0x0800, l3, tags);
        return frame.subarray(0, cut % (frame.length + 1));
      });
    fc.assert(
      fc.property(structured, (frame) => expectSameAsTypeScript(Buffer.from(frame), 0xabcdef)),
      { numRuns: 5000 },
    );
  });
});
