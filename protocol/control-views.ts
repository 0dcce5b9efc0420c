// Typed views of the message types: a constructor per type that builds a body
// (AVPs in the order SPEC.md lists them) from named fields, and a reader that turns a
// body back into those fields. Stamp a body with `timestamp` and `senderSeq` to encode it:
//   encodeControlMessage({ ...heartbeat({ nodeId, epoch }), timestamp, senderSeq }, key)
// Constructors throw RangeError on values that do not fit the wire; readers throw only
// on a body the decoder would have rejected (one built by hand).
import {
  AUTH_TRAILER_AVPS,
  AvpCode,
  IPID_HISTOGRAM_BINS,
  MAX_AVPS,
  MessageType,
  ROLE,
  SELECTION_REASON,
  SELECTION_STAGE,
  SELECTION_TYPE,
  messageTypeName,
  reportedStageOf,
  roleOf,
  selectionModeOf,
  selectionReasonOf,
} from './avp.js';
import type { MessageTypeName, ReportedStage, Role, SelectionMode, SelectionReason } from './avp.js';
import type { Avp, ControlBody } from './control-message.js';
import { checkControlBody } from './control-structure.js';
import { ipv4ToU32, u32ToIpv4 } from './ipv4-address.js';

const C = AvpCode;

/** An IPv4 UDP endpoint, e.g. `{ ip: '198.18.0.100', port: 9999 }`. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** Where a capture node selects and why (SELECTION_STAGE, SELECTION_REASON; SPEC.md §6.10). */
export interface SelectionStageReport {
  readonly stage: ReportedStage;
  readonly reason: SelectionReason;
}
export interface JoinFields {
  readonly nodeId: number;
  readonly role: Role;
  /** NODE_IP/NODE_PORT: where an analyzer receives header batches (required for analyzers). */
  readonly endpoint?: Endpoint;
  /** Optional (capture nodes): where it selects and why. */
  readonly selection?: SelectionStageReport;
}
export interface AcceptFields {
  readonly nodeId: number;
  readonly term: number;
  readonly coordinator: Endpoint;
  readonly selection: SelectionMode;
  readonly analyzers: readonly Endpoint[];
  /** Optional (HEARTBEAT_INTERVAL_MS): how often the cluster's members heartbeat (SPEC §6.11). */
  readonly heartbeatIntervalMs?: number;
  /** Optional (SPEC.md §6.4): the sending coordinator's ID, which names it for replay protection. */
  readonly coordinatorId?: number;
}
export interface TopologyUpdateFields {
  readonly term: number;
  readonly epoch: number;
  readonly selection: SelectionMode;
  /** Unix time in milliseconds at which the topology takes effect (VALIDITY_START_S/MS). */
  readonly validityStartMs: number;
  /** Node IDs in position order: nodeIds[k] has position k. */
  readonly nodeIds: readonly number[];
  readonly analyzers: readonly Endpoint[];
  readonly k0: number;
  readonly k1: number;
  readonly snaplen: number;
  /**
   * Optional (SPEC.md §6.11): the one-time token (64 bits, not 0) of a topology staged on
   * nodes that select in the kernel; written as the first two AVPs, TOKEN_HI and TOKEN_LO.
   */
  readonly token?: bigint;
  /** Optional (SPEC.md §6.4): the sending coordinator's ID, which names it for replay protection. */
  readonly coordinatorId?: number;
  /** Optional (SPEC.md §6.7): where the sending coordinator listens (COORDINATOR_IP/PORT). */
  readonly coordinator?: Endpoint;
}
export interface HeartbeatFields {
  readonly nodeId: number;
  readonly epoch: number;
  /** Optional (SPEC.md §6): the sender's role (capture when absent), so that a coordinator
   * that lost its state rebuilds the membership from heartbeats alone. */
  readonly role?: Role;
  /** Optional (SEEN_TERM): the highest coordinator TERM the sender has seen. Not TERM, which
   * would make the sender's later messages without TERM look older to a ReplayGuard. */
  readonly term?: number;
  /** Optional for capture nodes, required from analyzers: where it receives batches. */
  readonly endpoint?: Endpoint;
  /** Optional (SPEC.md §6.9): a capture node's engine counters, for the dashboard's rates and drops. */
  readonly counters?: EngineTotals;
  /** Optional (capture nodes): where it selects and why, so a coordinator that did not see its JOIN knows. */
  readonly selection?: SelectionStageReport;
}
/**
 * A capture node's engine counters at every layer, cumulative since the agent started
 * (SPEC.md §6.9), 64-bit. A coordinator derives rates from successive heartbeats; a value
 * that goes down means the agent restarted.
 */
export interface EngineTotals {
  /** Frames the capture socket received, ring drops included (tp_packets). */
  readonly ringPackets: bigint;
  /** Frames the kernel ring had no room for (tp_drops). */
  readonly ringDrops: bigint;
  /** Traffic frames selection classified (every epoch). */
  readonly seen: bigint;
  /** Frames this node owned. */
  readonly owned: bigint;
  /** Records sent to analyzers. */
  readonly exported: bigint;
  /** Owned frames lost because the export worker's queue was full. */
  readonly queueDrops: bigint;
  /** Records in datagrams the kernel refused to send. */
  readonly sendFailed: bigint;
  /** Owned records with no analyzer in the topology to go to. */
  readonly noAnalyzer: bigint;
}
/** IPID_HISTOGRAM (SPEC.md §6.9): the IPv4 Identification values of the frames a node owned. */
export interface IpidHistogramFields {
  readonly nodeId: number;
  /** IPv4 frames counted, cumulative, 64-bit (the bins' true sum). */
  readonly frames: bigint;
  /** IPID_HISTOGRAM_BINS cumulative counts, bin i for IDs 256·i … 256·i+255. The wire carries each
   * mod 2^32 (constructors reduce, readers return the reduced value): receivers take differences. */
  readonly bins: readonly number[];
}
/** ANALYZER_REPORT (SPEC.md §6.9): what an analyzer received from one capture node, cumulative. */
export interface AnalyzerReportFields {
  /** The analyzer. */
  readonly nodeId: number;
  /** The capture node the counts are about. */
  readonly sourceNodeId: number;
  readonly records: bigint;
  readonly datagrams: bigint;
  /** Export loss: datagrams missing from the sequence (gaps less the late arrivals); it may fall. */
  readonly lostDatagrams: bigint;
}
/** Cumulative counts within `epoch`, 64-bit. */
export interface LedgerFields {
  readonly nodeId: number;
  readonly epoch: number;
  readonly seen: bigint;
  readonly owned: bigint;
  readonly exported: bigint;
  readonly dropped: bigint;
}
export interface LeaveFields {
  readonly nodeId: number;
}
export type CoordinatorState = 'active' | 'standby';
export interface AnnounceFields {
  readonly term: number;
  readonly coordinator: Endpoint;
  /** Optional (SPEC.md §6.8); absent means active (a lone coordinator of §1). */
  readonly state?: CoordinatorState;
  readonly coordinatorId?: number;
}
export interface SyncMember {
  readonly nodeId: number;
  readonly role: Role;
  readonly endpoint: Endpoint;
}
export interface SyncFields {
  readonly term: number;
  readonly epoch: number;
  readonly members: readonly SyncMember[];
  /** The sending (active) coordinator's ID (SPEC.md §6.8). */
  readonly coordinatorId?: number;
  /** Where the sender serves its dashboard (SPEC.md §6.9), so a standby can link to it. */
  readonly dashboard?: Endpoint;
}
/** VOTE_REQUEST: a candidate asks for votes in `term`; `epoch` is the newest epoch it knows. */
export interface VoteRequestFields {
  readonly term: number;
  readonly coordinatorId: number;
  readonly epoch: number;
  /** The pre-vote round: "would you vote for me in `term`?" — nobody's term changes. */
  readonly preVote?: boolean;
}
/** SYNC_ACK. */
export interface CoordinatorTermFields {
  readonly term: number;
  readonly coordinatorId: number;
}
/** VOTE (granted; there is no negative vote). */
export interface VoteFields extends CoordinatorTermFields {
  readonly preVote?: boolean;
}

/** Any decoded message as named fields, discriminated by `type`. */
export type ControlView =
  | ({ readonly type: 'JOIN' } & JoinFields)
  | ({ readonly type: 'ACCEPT' } & AcceptFields)
  | ({ readonly type: 'TOPOLOGY_UPDATE' } & TopologyUpdateFields)
  | ({ readonly type: 'HEARTBEAT' } & HeartbeatFields)
  | ({ readonly type: 'LEDGER' } & LedgerFields)
  | ({ readonly type: 'LEAVE' } & LeaveFields)
  | ({ readonly type: 'ANNOUNCE' } & AnnounceFields)
  | ({ readonly type: 'SYNC' } & SyncFields)
  | ({ readonly type: 'VOTE_REQUEST' } & VoteRequestFields)
  | ({ readonly type: 'VOTE' } & VoteFields)
  | ({ readonly type: 'SYNC_ACK' } & CoordinatorTermFields)
  | ({ readonly type: 'IPID_HISTOGRAM' } & IpidHistogramFields)
  | ({ readonly type: 'ANALYZER_REPORT' } & AnalyzerReportFields);

// ---- writing ----

function avp(code: number, value: number): Avp {
  return { code, value };
}

function endpointAvps(ipCode: number, portCode: number, endpoint: Endpoint): Avp[] {
  return [avp(ipCode, ipv4ToU32(endpoint.ip)), avp(portCode, endpoint.port)];
}

function counterAvps(hiCode: number, name: string, count: bigint): Avp[] {
  if (count < 0n || count > 0xffffffffffffffffn)
    throw new RangeError(`${name} ${count} does not fit in 64 bits`);
  return [avp(hiCode, Number(count >> 32n)), avp(hiCode + 1, Number(count & 0xffffffffn))];
}

/** A message's 64-bit counters, in wire order: [field, its _HI code] (the _LO code follows it). */
type CounterCodes<K extends string> = ReadonlyArray<readonly [K, number]>;

function countersAvps<K extends string>(codes: CounterCodes<K>, values: Readonly<Record<K, bigint>>): Avp[] {
  return codes.flatMap(([name, hiCode]) => counterAvps(hiCode, name, values[name]));
}

/** The engine counters of a HEARTBEAT. */
const ENGINE_TOTALS: CounterCodes<keyof EngineTotals> = [
  ['ringPackets', C.RING_PACKETS_HI],
  ['ringDrops', C.RING_DROPS_HI],
  ['seen', C.TOTAL_SEEN_HI],
  ['owned', C.TOTAL_OWNED_HI],
  ['exported', C.TOTAL_EXPORTED_HI],
  ['queueDrops', C.QUEUE_DROPS_HI],
  ['sendFailed', C.SEND_FAILED_HI],
  ['noAnalyzer', C.NO_ANALYZER_HI],
];

const ANALYZER_REPORT_COUNTERS: CounterCodes<'records' | 'datagrams' | 'lostDatagrams'> = [
  ['records', C.RECORDS_RECEIVED_HI],
  ['datagrams', C.DATAGRAMS_RECEIVED_HI],
  ['lostDatagrams', C.LOST_DATAGRAMS_HI],
];

const LEDGER_COUNTERS: CounterCodes<'seen' | 'owned' | 'exported' | 'dropped'> = [
  ['seen', C.SEEN_HI],
  ['owned', C.OWNED_HI],
  ['exported', C.EXPORTED_HI],
  ['dropped', C.DROPPED_HI],
];

const coordinatorIdAvps = (id: number | undefined): Avp[] =>
  id !== undefined ? [avp(C.COORDINATOR_ID, id)] : [];

const selectionStageAvps = (s: SelectionStageReport | undefined): Avp[] =>
  s
    ? [avp(C.SELECTION_STAGE, SELECTION_STAGE[s.stage]), avp(C.SELECTION_REASON, SELECTION_REASON[s.reason])]
    : [];

function body(type: MessageType, avps: Avp[]): ControlBody {
  return { type, avps };
}

export function join(f: JoinFields): ControlBody {
  const endpoint = f.endpoint ? endpointAvps(C.NODE_IP, C.NODE_PORT, f.endpoint) : [];
  return body(MessageType.JOIN, [
    avp(C.NODE_ID, f.nodeId),
    avp(C.ROLE, ROLE[f.role]),
    ...endpoint,
    ...selectionStageAvps(f.selection),
  ]);
}

export function accept(f: AcceptFields): ControlBody {
  return body(MessageType.ACCEPT, [
    avp(C.NODE_ID, f.nodeId),
    avp(C.TERM, f.term),
    ...endpointAvps(C.COORDINATOR_IP, C.COORDINATOR_PORT, f.coordinator),
    avp(C.SELECTION_TYPE, SELECTION_TYPE[f.selection]),
    ...f.analyzers.flatMap((a) => endpointAvps(C.ANALYZER_IP, C.ANALYZER_PORT, a)),
    ...(f.heartbeatIntervalMs !== undefined ? [avp(C.HEARTBEAT_INTERVAL_MS, f.heartbeatIntervalMs)] : []),
    ...coordinatorIdAvps(f.coordinatorId),
  ]);
}

export function topologyUpdate(f: TopologyUpdateFields): ControlBody {
  if (!Number.isSafeInteger(f.validityStartMs) || f.validityStartMs < 0) {
    throw new RangeError(
      `validityStartMs ${f.validityStartMs} must be a non-negative integer (Unix milliseconds)`,
    );
  }
  if (f.token !== undefined && (f.token <= 0n || f.token >= 1n << 64n))
    throw new RangeError(`token ${f.token} must be a 64-bit value other than 0`);
  return body(MessageType.TOPOLOGY_UPDATE, [
    ...(f.token !== undefined
      ? [avp(C.TOKEN_HI, Number(f.token >> 32n)), avp(C.TOKEN_LO, Number(f.token & 0xffffffffn))]
      : []),
    avp(C.TERM, f.term),
    avp(C.EPOCH, f.epoch),
    avp(C.SELECTION_TYPE, SELECTION_TYPE[f.selection]),
    avp(C.VALIDITY_START_S, Math.floor(f.validityStartMs / 1000)),
    avp(C.VALIDITY_START_MS, f.validityStartMs % 1000),
    avp(C.HASH_KEY_0, f.k0),
    avp(C.HASH_KEY_1, f.k1),
    avp(C.SNAPLEN, f.snaplen),
    ...f.nodeIds.map((id) => avp(C.NODE_ID, id)),
    ...f.analyzers.flatMap((a) => endpointAvps(C.ANALYZER_IP, C.ANALYZER_PORT, a)),
    ...coordinatorIdAvps(f.coordinatorId),
    ...(f.coordinator ? endpointAvps(C.COORDINATOR_IP, C.COORDINATOR_PORT, f.coordinator) : []),
  ]);
}

export function heartbeat(f: HeartbeatFields): ControlBody {
  return body(MessageType.HEARTBEAT, [
    avp(C.NODE_ID, f.nodeId),
    avp(C.EPOCH, f.epoch),
    ...(f.role !== undefined ? [avp(C.ROLE, ROLE[f.role])] : []),
    ...(f.term !== undefined ? [avp(C.SEEN_TERM, f.term)] : []),
    ...(f.endpoint ? endpointAvps(C.NODE_IP, C.NODE_PORT, f.endpoint) : []),
    ...(f.counters ? countersAvps(ENGINE_TOTALS, f.counters) : []),
    ...selectionStageAvps(f.selection),
  ]);
}

export function ipidHistogram(f: IpidHistogramFields): ControlBody {
  if (f.bins.length !== IPID_HISTOGRAM_BINS)
    throw new RangeError(`an IPID_HISTOGRAM has ${IPID_HISTOGRAM_BINS} bins, not ${f.bins.length}`);
  const bins = f.bins.map((count, i) => {
    if (!Number.isSafeInteger(count) || count < 0)
      throw new RangeError(`IPID bin ${i} is ${count}; bins are non-negative integer counts`);
    return avp(C.IPID_BIN, count % 2 ** 32);
  });
  return body(MessageType.IPID_HISTOGRAM, [
    avp(C.NODE_ID, f.nodeId),
    ...counterAvps(C.IPID_FRAMES_HI, 'frames', f.frames),
    ...bins,
  ]);
}

export function analyzerReport(f: AnalyzerReportFields): ControlBody {
  return body(MessageType.ANALYZER_REPORT, [
    avp(C.NODE_ID, f.nodeId),
    avp(C.SOURCE_NODE_ID, f.sourceNodeId),
    ...countersAvps(ANALYZER_REPORT_COUNTERS, f),
  ]);
}

export function ledger(f: LedgerFields): ControlBody {
  return body(MessageType.LEDGER, [
    avp(C.NODE_ID, f.nodeId),
    avp(C.EPOCH, f.epoch),
    ...countersAvps(LEDGER_COUNTERS, f),
  ]);
}

export function leave(f: LeaveFields): ControlBody {
  return body(MessageType.LEAVE, [avp(C.NODE_ID, f.nodeId)]);
}

const COORDINATOR_STATE = { active: 1, standby: 2 } as const;

export function announce(f: AnnounceFields): ControlBody {
  return body(MessageType.ANNOUNCE, [
    avp(C.TERM, f.term),
    ...endpointAvps(C.COORDINATOR_IP, C.COORDINATOR_PORT, f.coordinator),
    ...(f.state !== undefined ? [avp(C.COORDINATOR_STATE, COORDINATOR_STATE[f.state])] : []),
    ...coordinatorIdAvps(f.coordinatorId),
  ]);
}

const preVoteAvps = (preVote: boolean | undefined): Avp[] => (preVote ? [avp(C.PRE_VOTE, 1)] : []);

export function voteRequest(f: VoteRequestFields): ControlBody {
  return body(MessageType.VOTE_REQUEST, [
    avp(C.TERM, f.term),
    avp(C.COORDINATOR_ID, f.coordinatorId),
    avp(C.EPOCH, f.epoch),
    ...preVoteAvps(f.preVote),
  ]);
}

export function vote(f: VoteFields): ControlBody {
  return body(MessageType.VOTE, [
    avp(C.TERM, f.term),
    avp(C.COORDINATOR_ID, f.coordinatorId),
    ...preVoteAvps(f.preVote),
  ]);
}

export function syncAck(f: CoordinatorTermFields): ControlBody {
  return body(MessageType.SYNC_ACK, [avp(C.TERM, f.term), avp(C.COORDINATOR_ID, f.coordinatorId)]);
}

/**
 * The most members a SYNC can list: its fixed AVPs (TERM, EPOCH, COORDINATOR_ID, DASHBOARD_IP,
 * DASHBOARD_PORT), four per member and the trailer within MAX_AVPS. A coordinator's membership
 * limit stays at or below it, so every SYNC and TOPOLOGY_UPDATE it builds can be encoded.
 */
export const MAX_SYNC_MEMBERS = Math.floor((MAX_AVPS - AUTH_TRAILER_AVPS - 5) / 4);

export function sync(f: SyncFields): ControlBody {
  return body(MessageType.SYNC, [
    avp(C.TERM, f.term),
    avp(C.EPOCH, f.epoch),
    ...coordinatorIdAvps(f.coordinatorId),
    ...(f.dashboard ? endpointAvps(C.DASHBOARD_IP, C.DASHBOARD_PORT, f.dashboard) : []),
    ...f.members.flatMap((m) => [
      avp(C.NODE_ID, m.nodeId),
      avp(C.ROLE, ROLE[m.role]),
      ...endpointAvps(C.NODE_IP, C.NODE_PORT, m.endpoint),
    ]),
  ]);
}

// ---- reading ----

/** Reads AVPs of a body already known to be well-formed. */
class BodyReader {
  constructor(readonly avps: readonly Avp[]) {}
  one(code: number): number {
    return this.avps.find((a) => a.code === code)!.value;
  }
  optional(code: number): number | undefined {
    return this.avps.find((a) => a.code === code)?.value;
  }
  all(code: number): number[] {
    return this.avps.filter((a) => a.code === code).map((a) => a.value);
  }
  endpoint(ipCode: number, portCode: number): Endpoint {
    return { ip: u32ToIpv4(this.one(ipCode)), port: this.one(portCode) };
  }
  /** IP/port pairs; the structure check guarantees each IP is followed by its port. */
  endpoints(ipCode: number): Endpoint[] {
    return this.avps.flatMap((a, i) =>
      a.code === ipCode ? [{ ip: u32ToIpv4(a.value), port: this.avps[i + 1]!.value }] : [],
    );
  }
  counter(hiCode: number): bigint {
    return (BigInt(this.one(hiCode)) << 32n) | BigInt(this.one(hiCode + 1));
  }
  counters<K extends string>(codes: CounterCodes<K>): Record<K, bigint> {
    return Object.fromEntries(codes.map(([name, hiCode]) => [name, this.counter(hiCode)])) as Record<
      K,
      bigint
    >;
  }
  role(value: number): Role {
    return roleOf(value)!;
  }
  /** `{ selection }` when SELECTION_STAGE (and so SELECTION_REASON) is present, else nothing. */
  selection(): { selection?: SelectionStageReport } {
    const stage = this.optional(C.SELECTION_STAGE);
    if (stage === undefined) return {};
    return {
      selection: { stage: reportedStageOf(stage)!, reason: selectionReasonOf(this.one(C.SELECTION_REASON))! },
    };
  }
  /** `{ coordinatorId }` when COORDINATOR_ID is present, else nothing. */
  coordinatorId(): { coordinatorId?: number } {
    const id = this.optional(C.COORDINATOR_ID);
    return id !== undefined ? { coordinatorId: id } : {};
  }
}

function readerFor(msg: ControlBody, expected: MessageTypeName): BodyReader {
  if (msg.type !== MessageType[expected]) throw new RangeError(`message type ${msg.type} is not ${expected}`);
  const problem = checkControlBody(msg);
  if (problem) throw new RangeError(`malformed ${expected}: ${problem.reason}`);
  return new BodyReader(msg.avps);
}

export function readJoin(msg: ControlBody): JoinFields {
  const r = readerFor(msg, 'JOIN');
  const role = r.role(r.one(C.ROLE));
  const nodeId = r.one(C.NODE_ID);
  return {
    nodeId,
    role,
    ...(r.optional(C.NODE_IP) !== undefined ? { endpoint: r.endpoint(C.NODE_IP, C.NODE_PORT) } : {}),
    ...r.selection(),
  };
}

export function readAccept(msg: ControlBody): AcceptFields {
  const r = readerFor(msg, 'ACCEPT');
  const heartbeatIntervalMs = r.optional(C.HEARTBEAT_INTERVAL_MS);
  return {
    nodeId: r.one(C.NODE_ID),
    term: r.one(C.TERM),
    coordinator: r.endpoint(C.COORDINATOR_IP, C.COORDINATOR_PORT),
    selection: selectionModeOf(r.one(C.SELECTION_TYPE))!,
    analyzers: r.endpoints(C.ANALYZER_IP),
    ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs } : {}),
    ...r.coordinatorId(),
  };
}

export function readTopologyUpdate(msg: ControlBody): TopologyUpdateFields {
  const r = readerFor(msg, 'TOPOLOGY_UPDATE');
  const hi = r.optional(C.TOKEN_HI);
  const token = hi === undefined ? undefined : (BigInt(hi) << 32n) | BigInt(r.one(C.TOKEN_LO));
  return {
    term: r.one(C.TERM),
    epoch: r.one(C.EPOCH),
    selection: selectionModeOf(r.one(C.SELECTION_TYPE))!,
    validityStartMs: r.one(C.VALIDITY_START_S) * 1000 + r.one(C.VALIDITY_START_MS),
    nodeIds: r.all(C.NODE_ID),
    analyzers: r.endpoints(C.ANALYZER_IP),
    k0: r.one(C.HASH_KEY_0),
    k1: r.one(C.HASH_KEY_1),
    snaplen: r.one(C.SNAPLEN),
    ...(token !== undefined ? { token } : {}),
    ...r.coordinatorId(),
    ...(r.optional(C.COORDINATOR_IP) !== undefined && r.optional(C.COORDINATOR_PORT) !== undefined
      ? { coordinator: r.endpoint(C.COORDINATOR_IP, C.COORDINATOR_PORT) }
      : {}),
  };
}

export function readHeartbeat(msg: ControlBody): HeartbeatFields {
  const r = readerFor(msg, 'HEARTBEAT');
  const role = r.optional(C.ROLE);
  const term = r.optional(C.SEEN_TERM);
  const hasEndpoint = r.optional(C.NODE_IP) !== undefined;
  return {
    nodeId: r.one(C.NODE_ID),
    epoch: r.one(C.EPOCH),
    ...(role !== undefined ? { role: r.role(role) } : {}),
    ...(term !== undefined ? { term } : {}),
    ...(hasEndpoint ? { endpoint: r.endpoint(C.NODE_IP, C.NODE_PORT) } : {}),
    // The structure check lets the set through whole or not at all.
    ...(r.optional(C.RING_PACKETS_HI) !== undefined ? { counters: r.counters(ENGINE_TOTALS) } : {}),
    ...r.selection(),
  };
}

export function readIpidHistogram(msg: ControlBody): IpidHistogramFields {
  const r = readerFor(msg, 'IPID_HISTOGRAM');
  return { nodeId: r.one(C.NODE_ID), frames: r.counter(C.IPID_FRAMES_HI), bins: r.all(C.IPID_BIN) };
}

export function readAnalyzerReport(msg: ControlBody): AnalyzerReportFields {
  const r = readerFor(msg, 'ANALYZER_REPORT');
  return {
    nodeId: r.one(C.NODE_ID),
    sourceNodeId: r.one(C.SOURCE_NODE_ID),
    ...r.counters(ANALYZER_REPORT_COUNTERS),
  };
}

export function readLedger(msg: ControlBody): LedgerFields {
  const r = readerFor(msg, 'LEDGER');
  return {
    nodeId: r.one(C.NODE_ID),
    epoch: r.one(C.EPOCH),
    ...r.counters(LEDGER_COUNTERS),
  };
}

export function readLeave(msg: ControlBody): LeaveFields {
  return { nodeId: readerFor(msg, 'LEAVE').one(C.NODE_ID) };
}

export function readAnnounce(msg: ControlBody): AnnounceFields {
  const r = readerFor(msg, 'ANNOUNCE');
  const state = r.optional(C.COORDINATOR_STATE);
  return {
    term: r.one(C.TERM),
    coordinator: r.endpoint(C.COORDINATOR_IP, C.COORDINATOR_PORT),
    ...(state !== undefined
      ? { state: state === COORDINATOR_STATE.standby ? ('standby' as const) : ('active' as const) }
      : {}),
    ...r.coordinatorId(),
  };
}

export function readSync(msg: ControlBody): SyncFields {
  const r = readerFor(msg, 'SYNC');
  // The structure check guarantees NODE_ID, ROLE, NODE_IP, NODE_PORT runs.
  const members = r.avps.flatMap((a, i): SyncMember[] =>
    a.code === C.NODE_ID
      ? [
          {
            nodeId: a.value,
            role: r.role(r.avps[i + 1]!.value),
            endpoint: { ip: u32ToIpv4(r.avps[i + 2]!.value), port: r.avps[i + 3]!.value },
          },
        ]
      : [],
  );
  const hasDashboard = r.optional(C.DASHBOARD_IP) !== undefined;
  return {
    term: r.one(C.TERM),
    epoch: r.one(C.EPOCH),
    members,
    ...r.coordinatorId(),
    ...(hasDashboard ? { dashboard: r.endpoint(C.DASHBOARD_IP, C.DASHBOARD_PORT) } : {}),
  };
}

export function readVoteRequest(msg: ControlBody): VoteRequestFields {
  const r = readerFor(msg, 'VOTE_REQUEST');
  return {
    term: r.one(C.TERM),
    coordinatorId: r.one(C.COORDINATOR_ID),
    epoch: r.one(C.EPOCH),
    preVote: r.optional(C.PRE_VOTE) === 1,
  };
}

export function readVote(msg: ControlBody): VoteFields {
  const r = readerFor(msg, 'VOTE');
  return {
    term: r.one(C.TERM),
    coordinatorId: r.one(C.COORDINATOR_ID),
    preVote: r.optional(C.PRE_VOTE) === 1,
  };
}

export function readSyncAck(msg: ControlBody): CoordinatorTermFields {
  const r = readerFor(msg, 'SYNC_ACK');
  return { term: r.one(C.TERM), coordinatorId: r.one(C.COORDINATOR_ID) };
}

const READERS: {
  [T in MessageTypeName]: (msg: ControlBody) => Omit<Extract<ControlView, { type: T }>, 'type'>;
} = {
  JOIN: readJoin,
  ACCEPT: readAccept,
  TOPOLOGY_UPDATE: readTopologyUpdate,
  HEARTBEAT: readHeartbeat,
  LEDGER: readLedger,
  LEAVE: readLeave,
  ANNOUNCE: readAnnounce,
  SYNC: readSync,
  VOTE_REQUEST: readVoteRequest,
  VOTE: readVote,
  SYNC_ACK: readSyncAck,
  IPID_HISTOGRAM: readIpidHistogram,
  ANALYZER_REPORT: readAnalyzerReport,
};

/** The named fields of any well-formed message. */
export function readControlMessage(msg: ControlBody): ControlView {
  const name = messageTypeName(msg.type);
  if (!name) throw new RangeError(`message type ${msg.type} is not defined in protocol version 1`);
  return { type: name, ...READERS[name](msg) } as ControlView;
}
