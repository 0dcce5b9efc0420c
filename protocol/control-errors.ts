// Why a control message was rejected. The codes are stable (metrics count rejections by
// code) and shared with the C++ decoder (native/src/control_message.h); they are listed
// in the order the checks run. The reason is one readable line for logs and tools.

export const CONTROL_ERROR_CODES = [
  'SHORT', // fewer than the 6 header bytes
  'BAD_MAGIC', // not 0x4443
  'BAD_VERSION', // not version 1
  'UNKNOWN_TYPE', // TYP not defined (14..31 are reserved)
  'TOO_MANY_AVPS', // LEN over 8192
  'LENGTH_MISMATCH', // size is not 6 + 5 * LEN
  'MISSING_HMAC', // the last eight AVPs are not HMAC_0..HMAC_7 in order
  'BAD_HMAC', // the MAC does not verify with the cluster key
  'MISSING_AVP', // a required AVP is absent: TIMESTAMP/SENDER_SEQ before the HMACs, or one of the type's
  //                (including half of an ANALYZER_IP/PORT pair or of a SYNC member group)
  'REPEATED_AVP', // a single-valued AVP appears twice (an authentication AVP outside the trailer, too)
  'BAD_VALUE', // a value out of its range (port 0, unknown selection type, duplicate node ID…)
] as const;
export type ControlErrorCode = (typeof CONTROL_ERROR_CODES)[number];

export interface ControlError {
  readonly code: ControlErrorCode;
  readonly reason: string;
}
