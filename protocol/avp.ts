// Every number of the control-message format (SPEC.md §1) in one place: magic, message
// types, AVP codes and their names, selection modes, roles, and which AVPs each message
// type requires or lets repeat. Codecs, views and tools read these tables; nobody else
// spells a code as a bare number.

export const CONTROL_MAGIC = 0x4443; // "DC"
export const CONTROL_VERSION = 1;
/** Bytes before the first AVP: magic (2), version (1), TYP (1), LEN (2). */
export const CONTROL_HEADER_SIZE = 6;
/** Bytes per AVP: code (u8) + value (u32). */
export const AVP_SIZE = 5;
/** Largest LEN a decoder accepts (SPEC.md §1). */
export const MAX_AVPS = 8192;

export const MessageType = {
  JOIN: 1,
  ACCEPT: 2,
  TOPOLOGY_UPDATE: 3,
  HEARTBEAT: 4,
  LEDGER: 5,
  LEAVE: 6,
  ANNOUNCE: 7,
  SYNC: 8,
  /** dicap extensions (SPEC.md §6.8): the coordinator election. */
  VOTE_REQUEST: 9,
  VOTE: 10,
  SYNC_ACK: 11,
  /** dicap extensions (SPEC.md §6.9): reports for the coordinator's dashboard. */
  IPID_HISTOGRAM: 12,
  ANALYZER_REPORT: 13,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export type MessageType = (typeof MessageType)[MessageTypeName];

export const AvpCode = {
  NODE_ID: 1,
  COORDINATOR_IP: 2,
  COORDINATOR_PORT: 3,
  ANALYZER_IP: 4,
  ANALYZER_PORT: 5,
  SELECTION_TYPE: 6,
  VALIDITY_START_S: 7,
  VALIDITY_START_MS: 8,
  TERM: 16,
  EPOCH: 17,
  ROLE: 18,
  SNAPLEN: 19,
  HASH_KEY_0: 20,
  HASH_KEY_1: 21,
  NODE_IP: 24,
  NODE_PORT: 25,
  SEEN_HI: 32,
  SEEN_LO: 33,
  OWNED_HI: 34,
  OWNED_LO: 35,
  EXPORTED_HI: 36,
  EXPORTED_LO: 37,
  DROPPED_HI: 38,
  DROPPED_LO: 39,
  /** dicap extension (SPEC.md §6.7): the highest coordinator TERM the sender has seen. */
  SEEN_TERM: 64,
  /** dicap extension (SPEC.md §6.8): 1 active, 2 standby (ANNOUNCE). */
  COORDINATOR_STATE: 65,
  /** dicap extension (SPEC.md §6.8): a coordinator's own 32-bit ID. */
  COORDINATOR_ID: 66,
  /** dicap extension (SPEC.md §6.8): 1 in a VOTE_REQUEST/VOTE of the pre-vote round. */
  PRE_VOTE: 67,
  /** dicap extensions (SPEC.md §6.9): an agent's engine counters in its HEARTBEAT, cumulative, 64-bit. */
  RING_PACKETS_HI: 68,
  RING_PACKETS_LO: 69,
  RING_DROPS_HI: 70,
  RING_DROPS_LO: 71,
  TOTAL_SEEN_HI: 72,
  TOTAL_SEEN_LO: 73,
  TOTAL_OWNED_HI: 74,
  TOTAL_OWNED_LO: 75,
  TOTAL_EXPORTED_HI: 76,
  TOTAL_EXPORTED_LO: 77,
  QUEUE_DROPS_HI: 78,
  QUEUE_DROPS_LO: 79,
  SEND_FAILED_HI: 80,
  SEND_FAILED_LO: 81,
  NO_ANALYZER_HI: 82,
  NO_ANALYZER_LO: 83,
  /** dicap extensions (SPEC.md §6.9): IPID_HISTOGRAM. */
  IPID_FRAMES_HI: 84,
  IPID_FRAMES_LO: 85,
  IPID_BIN: 86,
  /** dicap extensions (SPEC.md §6.9): ANALYZER_REPORT. */
  SOURCE_NODE_ID: 87,
  RECORDS_RECEIVED_HI: 88,
  RECORDS_RECEIVED_LO: 89,
  DATAGRAMS_RECEIVED_HI: 90,
  DATAGRAMS_RECEIVED_LO: 91,
  LOST_DATAGRAMS_HI: 92,
  LOST_DATAGRAMS_LO: 93,
  /** dicap extension (SPEC.md §6.9): where the sender of a SYNC serves its dashboard. */
  DASHBOARD_IP: 94,
  DASHBOARD_PORT: 95,
  /** dicap extension (SPEC.md §6.10): the one-time token of a staged topology, its first two AVPs. */
  TOKEN_HI: 96,
  TOKEN_LO: 97,
  /** dicap extension (SPEC.md §6.11): the cluster's heartbeat interval, in ACCEPT. */
  HEARTBEAT_INTERVAL_MS: 112,
  /** dicap extensions (SPEC.md §6.10): where a capture node selects and why, in JOIN and HEARTBEAT. */
  SELECTION_STAGE: 113,
  SELECTION_REASON: 114,
  TIMESTAMP: 239,
  SENDER_SEQ: 240,
  HMAC_0: 241,
  HMAC_1: 242,
  HMAC_2: 243,
  HMAC_3: 244,
  HMAC_4: 245,
  HMAC_5: 246,
  HMAC_6: 247,
  HMAC_7: 248,
} as const;
export type AvpName = keyof typeof AvpCode;

/**
 * Optional AVPs that a message type carries all together or not at all (SPEC.md §6.9): an
 * incomplete set is a MISSING_AVP, so a reader never sees half a counter or half an address.
 */
export const OPTIONAL_AVP_SETS: Readonly<Partial<Record<MessageTypeName, ReadonlyArray<readonly number[]>>>> =
  {
    JOIN: [[AvpCode.SELECTION_STAGE, AvpCode.SELECTION_REASON]],
    HEARTBEAT: [
      Array.from({ length: 16 }, (_, i) => AvpCode.RING_PACKETS_HI + i),
      [AvpCode.SELECTION_STAGE, AvpCode.SELECTION_REASON],
    ],
    SYNC: [[AvpCode.DASHBOARD_IP, AvpCode.DASHBOARD_PORT]],
    TOPOLOGY_UPDATE: [[AvpCode.TOKEN_HI, AvpCode.TOKEN_LO]],
  };

/** IPID_HISTOGRAM carries exactly this many IPID_BIN AVPs: bin i counts IDs 256·i … 256·i+255. */
export const IPID_HISTOGRAM_BINS = 256;

/** The eight HMAC AVPs carry the 32-byte HMAC-SHA256, four bytes each (SPEC.md §1.1). */
export const HMAC_AVP_COUNT = 8;
/** TIMESTAMP, SENDER_SEQ and HMAC_0..7: the AVPs every message ends with. */
export const AUTH_TRAILER_AVPS = 2 + HMAC_AVP_COUNT;
/** AVP codes 239..248 belong to the authentication trailer and appear nowhere else. */
export function isAuthAvp(code: number): boolean {
  return code >= AvpCode.TIMESTAMP && code <= AvpCode.HMAC_7;
}

const MESSAGE_TYPE_NAMES = new Map<number, MessageTypeName>(
  Object.entries(MessageType).map(([name, code]) => [code, name as MessageTypeName]),
);
const AVP_NAMES = new Map<number, AvpName>(
  Object.entries(AvpCode).map(([name, code]) => [code, name as AvpName]),
);

/** The name of a message type, or undefined for reserved/unknown numbers. */
export function messageTypeName(type: number): MessageTypeName | undefined {
  return MESSAGE_TYPE_NAMES.get(type);
}

/** Whether protocol version 1 defines this AVP code (unknown codes are carried and ignored). */
export function isKnownAvp(code: number): boolean {
  return AVP_NAMES.has(code);
}

/** The name of an AVP code; codes this version does not define read as `AVP_<code>`. */
export function avpName(code: number): string {
  return AVP_NAMES.get(code) ?? `AVP_${code}`;
}

/** SELECTION_TYPE values. The one place that maps selection-mode names to numbers. */
export const SELECTION_TYPE = { 'round-robin': 1, ipid: 2, flow: 3 } as const;
export type SelectionMode = keyof typeof SELECTION_TYPE;
export const SELECTION_MODES = Object.keys(SELECTION_TYPE) as readonly SelectionMode[];

export function selectionModeOf(value: number): SelectionMode | undefined {
  return SELECTION_MODES.find((mode) => SELECTION_TYPE[mode] === value);
}

/**
 * SELECTION_STAGE values (SPEC.md §6.10): where a capture node drops the other nodes' frames.
 * XDP says how it is attached: natively in the driver, or generic (after the socket buffer).
 */
export const SELECTION_STAGE = { 'xdp-native': 1, 'xdp-generic': 2, socket: 3, user: 4 } as const;
export type ReportedStage = keyof typeof SELECTION_STAGE;
export const REPORTED_STAGES = Object.keys(SELECTION_STAGE) as readonly ReportedStage[];

/**
 * SELECTION_REASON values: why the node selects there.
 * `asked`: --selection named the stage; `distribute`: --distribute needs XDP; `auto`: the best
 * stage worked; `auto-no-xdp`: auto fell back to the socket filter because XDP failed;
 * `auto-no-kernel`: auto fell back to user space because the kernel refused the program;
 * `capture-file`: a capture file has no kernel stage; `filter`: auto stayed in user space
 * because --filter runs there, before the selection.
 */
export const SELECTION_REASON = {
  asked: 1,
  distribute: 2,
  auto: 3,
  'auto-no-xdp': 4,
  'auto-no-kernel': 5,
  'capture-file': 6,
  filter: 7,
} as const;
export type SelectionReason = keyof typeof SELECTION_REASON;
export const SELECTION_REASONS = Object.keys(SELECTION_REASON) as readonly SelectionReason[];
export function reportedStageOf(value: number): ReportedStage | undefined {
  return REPORTED_STAGES.find((stage) => SELECTION_STAGE[stage] === value);
}

export function selectionReasonOf(value: number): SelectionReason | undefined {
  return SELECTION_REASONS.find((reason) => SELECTION_REASON[reason] === value);
}

/** ROLE values. */
export const ROLE = { capture: 1, analyzer: 2, coordinator: 3 } as const;
export type Role = keyof typeof ROLE;
export const ROLES = Object.keys(ROLE) as readonly Role[];

export function roleOf(value: number): Role | undefined {
  return ROLES.find((role) => ROLE[role] === value);
}

/**
 * What a message type's body (the AVPs before the authentication trailer) must hold.
 * `required` AVPs appear at least once. `repeatable` AVPs may appear any number of times;
 * their grouping (pairs, member groups) is checked in control-structure.ts. Every other
 * AVP this version defines may appear at most once (single-valued); codes it does not
 * define are carried along and ignored.
 */
export interface MessageSchema {
  readonly required: readonly number[];
  readonly repeatable: readonly number[];
}

const C = AvpCode;
export const MESSAGE_SCHEMAS: Readonly<Record<MessageTypeName, MessageSchema>> = {
  // Analyzers must also send NODE_IP and NODE_PORT; control-structure.ts checks that.
  JOIN: { required: [C.NODE_ID, C.ROLE], repeatable: [] },
  ACCEPT: {
    required: [C.NODE_ID, C.TERM, C.COORDINATOR_IP, C.COORDINATOR_PORT, C.SELECTION_TYPE],
    repeatable: [C.ANALYZER_IP, C.ANALYZER_PORT],
  },
  TOPOLOGY_UPDATE: {
    required: [
      C.TERM,
      C.EPOCH,
      C.SELECTION_TYPE,
      C.VALIDITY_START_S,
      C.VALIDITY_START_MS,
      C.HASH_KEY_0,
      C.HASH_KEY_1,
      C.SNAPLEN,
      C.NODE_ID, // at least one: a topology without capture nodes has no owner for any frame
    ],
    // Analyzer pairs may be absent (distribution mode exports nothing).
    repeatable: [C.NODE_ID, C.ANALYZER_IP, C.ANALYZER_PORT],
  },
  HEARTBEAT: { required: [C.NODE_ID, C.EPOCH], repeatable: [] },
  LEDGER: {
    required: [
      C.NODE_ID,
      C.EPOCH,
      C.SEEN_HI,
      C.SEEN_LO,
      C.OWNED_HI,
      C.OWNED_LO,
      C.EXPORTED_HI,
      C.EXPORTED_LO,
      C.DROPPED_HI,
      C.DROPPED_LO,
    ],
    repeatable: [],
  },
  LEAVE: { required: [C.NODE_ID], repeatable: [] },
  ANNOUNCE: { required: [C.TERM, C.COORDINATOR_IP, C.COORDINATOR_PORT], repeatable: [] },
  SYNC: { required: [C.TERM, C.EPOCH], repeatable: [C.NODE_ID, C.ROLE, C.NODE_IP, C.NODE_PORT] },
  VOTE_REQUEST: { required: [C.TERM, C.COORDINATOR_ID, C.EPOCH], repeatable: [] },
  VOTE: { required: [C.TERM, C.COORDINATOR_ID], repeatable: [] },
  SYNC_ACK: { required: [C.TERM, C.COORDINATOR_ID], repeatable: [] },
  // Exactly IPID_HISTOGRAM_BINS bins: control-structure.ts checks the count.
  IPID_HISTOGRAM: {
    required: [C.NODE_ID, C.IPID_FRAMES_HI, C.IPID_FRAMES_LO, C.IPID_BIN],
    repeatable: [C.IPID_BIN],
  },
  ANALYZER_REPORT: {
    required: [
      C.NODE_ID,
      C.SOURCE_NODE_ID,
      C.RECORDS_RECEIVED_HI,
      C.RECORDS_RECEIVED_LO,
      C.DATAGRAMS_RECEIVED_HI,
      C.DATAGRAMS_RECEIVED_LO,
      C.LOST_DATAGRAMS_HI,
      C.LOST_DATAGRAMS_LO,
    ],
    repeatable: [],
  },
};
