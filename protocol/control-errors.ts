// Why a control message was rejected. The codes are stable (metrics count rejections by
// code); the reason is one readable line for logs and `dicap proto decode`.

export const CONTROL_ERROR_CODES = [
  'SHORT', // fewer than the 6 header bytes
  'BAD_MAGIC', // not 0x4443
  'BAD_VERSION', // not version 1
  'TOO_MANY_AVPS', // LEN over 8192
  'LENGTH_MISMATCH', // size is not 6 + 5 * LEN
  'UNKNOWN_TYPE', // TYP not defined (9..31 are reserved)
  'MISSING_HMAC', // the last eight AVPs are not HMAC_0..HMAC_7 in order
  'MISSING_AVP', // a required AVP (or TIMESTAMP/SENDER_SEQ before the HMACs) is absent
  'MISPLACED_AVP', // an authentication AVP (239..248) outside the trailer
  'REPEATED_AVP', // a single-valued AVP appears twice
  'BAD_GROUP', // ANALYZER_IP/PORT pairs or SYNC member groups broken up
  'BAD_VALUE', // a value out of its range (port 0, unknown selection type, duplicate node ID…)
  'BAD_HMAC', // the MAC does not verify with the cluster key
] as const;
export type ControlErrorCode = (typeof CONTROL_ERROR_CODES)[number];

export interface ControlError {
  readonly code: ControlErrorCode;
  readonly reason: string;
}
