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
const AVP_NAMES = new Map<number, AvpName>(Object.entries(AvpCode).map(([name, code]) => [code, name as AvpName]));

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
};
