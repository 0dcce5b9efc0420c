// The test vectors of protocol/SPEC.md §5, as hex, shared by the protocol tests.

export const NODE_IDS = [11, 22, 33] as const;
export const K0 = 0x1234;
export const K1 = 0x5678;

export interface FrameVector {
  readonly name: string;
  readonly hex: string;
  readonly flowHash: number;
  readonly bucket: number;
  readonly flowOwner: number;
  /** undefined: the frame has no IPv4 ID. */
  readonly ipidHash: number | undefined;
  readonly ipidOwner: number;
}

export const FRAME_VECTORS: readonly FrameVector[] = [
  {
    name: 'ipv4-tcp',
    hex: '0200000000020200000000010800450000281c46400040060000c6120001c61300079c4001bb00000000000000000000000000000000',
    flowHash: 0x24e9b9a2,
    bucket: 2466,
    flowOwner: 0,
    ipidHash: 0x8b948ce9,
    ipidOwner: 0,
  },
  {
    name: 'ipv4-tcp-reverse',
    hex: '0200000000010200000000020800450000280000400040060000c6130007c612000101bb9c4000000000000000000000000000000000',
    flowHash: 0x24e9b9a2,
    bucket: 2466,
    flowOwner: 0,
    ipidHash: 0xb4c81a85,
    ipidOwner: 2,
  },
  {
    name: 'ipv4-udp-frag',
    hex: '020000000002020000000001080045000028beef200040110000c6120001c613000714e9003500000000000000000000000000000000',
    flowHash: 0x6f8b99ba,
    bucket: 2490,
    flowOwner: 2,
    ipidHash: 0xe64d3780,
    ipidOwner: 1,
  },
  {
    name: 'vlan-ipv4-udp',
    hex: '020000000002020000000001810000640800450000280102400040110000c6120002c613000904d2003500000000000000000000000000000000',
    flowHash: 0xbb5980c3,
    bucket: 195,
    flowOwner: 0,
    ipidHash: 0x8bb69545,
    ipidOwner: 2,
  },
  {
    name: 'ipv6-udp',
    hex: '02000000000202000000000186dd600000000018114020010db800000000000000000000000120010db8000000000000000000000002138800350000000000000000000000000000000000000000',
    flowHash: 0xf9e228e4,
    bucket: 2276,
    flowOwner: 0,
    ipidHash: undefined,
    ipidOwner: 2,
  },
  {
    name: 'arp',
    hex: 'ffffffffffff020000000001080600000000000000000000000000000000000000000000000000000000',
    flowHash: 0xf9621600,
    bucket: 1536,
    flowOwner: 1,
    ipidHash: undefined,
    ipidOwner: 0,
  },
];

export const CLUSTER_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

/** TERM 7, EPOCH 42, flow, validity 1795000000 s + 250 ms, nodes 11/22/33, analyzer 198.18.0.100:9999. */
export const TOPOLOGY_UPDATE_HEX =
  '4443010300171000000007110000002a0600000003076afd86c008000000fa140000123415000056781300000080010000000b0100000016010000002104c6120064050000270fef6afd86c0f000000001f1d0e24155f234305734f36f362724f4b62bc9eaf5d1bb939cf612b26515f7c34d37e2f8549029c0';
export const TOPOLOGY_UPDATE_TIMESTAMP_S = 1795000000;
/** The same message's TOPOLOGY_UPDATE fields, as protocol/control-views.ts reads them. */
export const TOPOLOGY_UPDATE_FIELDS = {
  term: 7,
  epoch: 42,
  selection: 'flow',
  validityStartMs: 1795000000250,
  nodeIds: [11, 22, 33],
  analyzers: [{ ip: '198.18.0.100', port: 9999 }],
  k0: 0x1234,
  k1: 0x5678,
  snaplen: 128,
} as const;
