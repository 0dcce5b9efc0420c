// Decoder and authenticator for dicap control messages (PROTOCOL.md §1, §1.1), as the
// native engine needs them for the in-band TOPOLOGY_UPDATE frame of round-robin mode (§2).
// The TypeScript decoder (protocol/control-message.ts) uses the same stable error codes.
//
// Bad bytes never throw: every function here returns a ControlError. Nothing keeps the
// caller's byte pointer; decoded values are copied into the output structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dicap {

constexpr uint16_t kControlMagic = 0x4443;  // "DC"
constexpr uint8_t kControlVersion = 1;
constexpr size_t kControlHeaderLen = 6;
constexpr size_t kControlAvpLen = 5;  // code u8, value u32
constexpr uint32_t kControlMaxAvps = 8192;
constexpr size_t kControlHmacAvps = 8;                        // HMAC_0..HMAC_7, the 32 bytes of HMAC-SHA256
constexpr size_t kControlTrailerAvps = 2 + kControlHmacAvps;  // TIMESTAMP, SENDER_SEQ, HMAC_0..7
constexpr uint32_t kControlMaxClockSkewS = 30;

// Message types (TYP).
constexpr uint8_t kMsgJoin = 1;
constexpr uint8_t kMsgAccept = 2;
constexpr uint8_t kMsgTopologyUpdate = 3;
constexpr uint8_t kMsgHeartbeat = 4;
constexpr uint8_t kMsgLedger = 5;
constexpr uint8_t kMsgLeave = 6;
constexpr uint8_t kMsgAnnounce = 7;
constexpr uint8_t kMsgSync = 8;
constexpr uint8_t kMsgVoteRequest = 9;  // 9..11: the coordinator election (protocol/SPEC.md §6.8)
constexpr uint8_t kMsgVote = 10;
constexpr uint8_t kMsgSyncAck = 11;
constexpr uint8_t kMsgIpidHistogram = 12;  // 12, 13: reports for the dashboard (protocol/SPEC.md §6.9)
constexpr uint8_t kMsgAnalyzerReport = 13;

// AVP codes.
constexpr uint8_t kAvpNodeId = 1;
constexpr uint8_t kAvpCoordinatorIp = 2;
constexpr uint8_t kAvpCoordinatorPort = 3;
constexpr uint8_t kAvpAnalyzerIp = 4;
constexpr uint8_t kAvpAnalyzerPort = 5;
constexpr uint8_t kAvpSelectionType = 6;
constexpr uint8_t kAvpValidityStartS = 7;
constexpr uint8_t kAvpValidityStartMs = 8;
constexpr uint8_t kAvpTerm = 16;
constexpr uint8_t kAvpEpoch = 17;
constexpr uint8_t kAvpRole = 18;
constexpr uint8_t kAvpSnaplen = 19;
constexpr uint8_t kAvpHashKey0 = 20;
constexpr uint8_t kAvpHashKey1 = 21;
constexpr uint8_t kAvpNodeIp = 24;
constexpr uint8_t kAvpNodePort = 25;
constexpr uint8_t kAvpSeenHi = 32;  // 32..39: 64-bit LEDGER counters as HI/LO words
constexpr uint8_t kAvpSeenLo = 33;
constexpr uint8_t kAvpOwnedHi = 34;
constexpr uint8_t kAvpOwnedLo = 35;
constexpr uint8_t kAvpExportedHi = 36;
constexpr uint8_t kAvpExportedLo = 37;
constexpr uint8_t kAvpDroppedHi = 38;
constexpr uint8_t kAvpDroppedLo = 39;
constexpr uint8_t kAvpSeenTerm = 64;  // 64..66: dicap extensions (protocol/SPEC.md §6.7, §6.8)
constexpr uint8_t kAvpCoordinatorState = 65;
constexpr uint8_t kAvpCoordinatorId = 66;
constexpr uint8_t kAvpPreVote = 67;
constexpr uint8_t kAvpRingPacketsHi = 68;  // 68..83: a HEARTBEAT's engine counters, all or none (§6.9)
constexpr uint8_t kAvpNoAnalyzerLo = 83;
constexpr uint8_t kAvpIpidFramesHi = 84;  // 84..86: IPID_HISTOGRAM
constexpr uint8_t kAvpIpidFramesLo = 85;
constexpr uint8_t kAvpIpidBin = 86;
constexpr uint8_t kAvpSourceNodeId = 87;  // 87..93: ANALYZER_REPORT
constexpr uint8_t kAvpRecordsReceivedHi = 88;
constexpr uint8_t kAvpRecordsReceivedLo = 89;
constexpr uint8_t kAvpDatagramsReceivedHi = 90;
constexpr uint8_t kAvpDatagramsReceivedLo = 91;
constexpr uint8_t kAvpLostDatagramsHi = 92;
constexpr uint8_t kAvpLostDatagramsLo = 93;
constexpr uint8_t kAvpDashboardIp = 94;  // 94, 95: SYNC, both or neither
constexpr uint8_t kAvpDashboardPort = 95;
constexpr size_t kIpidHistogramBins = 256;  // IPID_BIN AVPs in an IPID_HISTOGRAM
constexpr uint8_t kAvpTimestamp = 239;
constexpr uint8_t kAvpSenderSeq = 240;
constexpr uint8_t kAvpHmac0 = 241;  // 241..248
constexpr uint8_t kAvpHmac7 = 248;

// The authentication trailer's codes (239..248), which appear nowhere else in a message.
inline bool IsAuthAvp(uint8_t code) {
  return code >= kAvpTimestamp && code <= kAvpHmac7;
}

// ROLE values and SELECTION_TYPE values.
constexpr uint32_t kRoleCapture = 1;
constexpr uint32_t kRoleAnalyzer = 2;
constexpr uint32_t kRoleCoordinator = 3;
constexpr uint8_t kSelectionRoundRobin = 1;
constexpr uint8_t kSelectionIpid = 2;
constexpr uint8_t kSelectionFlow = 3;

// In the order the decoder checks them, as protocol/SPEC.md §6.4 fixes it and the
// TypeScript decoder (protocol/control-message.ts) runs them, so one byte string gets the
// same code from both.
enum class ControlError {
  kNone,
  kShort,           // fewer than the 6 header bytes
  kBadMagic,        // not 0x4443
  kBadVersion,      // not version 1
  kUnknownType,     // TYP not defined (14..31 are reserved)
  kTooManyAvps,     // LEN over 8192
  kLengthMismatch,  // size is not 6 + 5*LEN
  kMissingHmac,     // the last eight AVPs are not HMAC_0..HMAC_7 in order
  kBadHmac,         // the MAC does not verify under the given key
  kMissingAvp,      // a required AVP is absent: TIMESTAMP/SENDER_SEQ right before HMAC_0, one of
                    //   the type's, or half of an ANALYZER_IP/PORT pair or SYNC member group
  kRepeatedAvp,     // a single-valued AVP appears twice (an authentication AVP outside the trailer, too)
  kBadValue,        // a value out of range (port 0, SELECTION_TYPE 9, a node ID listed twice, ...)
};

// Stable code for counters, logs and the JS side: "SHORT", "BAD_HMAC", ... ("OK" for kNone).
const char* ControlErrorCode(ControlError error);
// One-line human description of the error, for logs and tool output.
const char* ControlErrorReason(ControlError error);

struct ControlMessageView {
  uint8_t type = 0;
  // The body: every AVP before TIMESTAMP, in wire order (the trailer is in the fields below).
  std::vector<std::pair<uint8_t, uint32_t>> avps;
  bool mac_valid = false;
  uint32_t timestamp = 0;   // TIMESTAMP (Unix seconds of the sender)
  uint32_t sender_seq = 0;  // SENDER_SEQ
};

// Decodes and authenticates one control message: accepts it only if it is well-formed and
// its MAC verifies. `key`/`key_len` is the cluster key as bytes (insecure mode's all-zero
// 32-byte key is not special-cased). Checks in the order of the ControlError list; the MAC
// is verified before any rule about the meaning of AVPs. Freshness (clock skew, sequence)
// needs receiver state and is the caller's job (see IsTimestampFresh).
// Returns kNone with `*out` filled (and out->mac_valid true); on an error `*out` is
// unspecified except that out->mac_valid is false.
ControlError DecodeControlMessage(const uint8_t* bytes, size_t len, const uint8_t* key, size_t key_len,
                                  ControlMessageView* out);

// True when a message's TIMESTAMP is within kControlMaxClockSkewS of `now_s`, whole Unix
// seconds of the reference clock: the receiver's clock for UDP messages, the frame's capture
// time for in-band frames (protocol/SPEC.md §6.2, §6.4).
inline bool IsTimestampFresh(uint32_t timestamp_s, uint64_t now_s) {
  const uint64_t ts = timestamp_s;
  return (ts > now_s ? ts - now_s : now_s - ts) <= kControlMaxClockSkewS;
}

struct TopologyUpdate {
  uint32_t term = 0;
  uint32_t epoch = 0;
  uint8_t selection_type = 0;                            // kSelectionRoundRobin/Ipid/Flow
  uint64_t validity_start_ms = 0;                        // Unix milliseconds
  std::vector<uint32_t> node_ids;                        // position k = k-th NODE_ID; never empty
  std::vector<std::pair<uint32_t, uint16_t>> analyzers;  // IPv4 address (host order), UDP port
  uint32_t k0 = 0, k1 = 0;                               // HASH_KEY_0, HASH_KEY_1
  uint32_t snaplen = 0;
  uint32_t timestamp = 0, sender_seq = 0;
};

// Extracts a TOPOLOGY_UPDATE from a message that DecodeControlMessage accepted (kNone), which
// has already checked every rule (ranges, pairs, distinct node IDs). Returns kUnknownType
// for a message of another TYP, kBadHmac for a view that is not authenticated, and
// kMissingAvp for a (hand-made) view without NODE_ID or with an ANALYZER_IP lacking its port.
ControlError ReadTopologyUpdate(const ControlMessageView& msg, TopologyUpdate* out);

}  // namespace dicap
