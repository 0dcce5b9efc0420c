// Decoder and authenticator for the one control message the native engine reads: the
// in-band TOPOLOGY_UPDATE frame of round-robin mode (protocol/SPEC.md §1, §1.1, §2). Every
// other message is the TypeScript decoder's (protocol/control-message.ts), whose stable
// error codes this one shares; test/native/control-message.test.ts holds the two to the
// same verdicts.
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

// Message types (TYP): the in-band path reads TOPOLOGY_UPDATE only; 1..13 are defined
// (protocol/SPEC.md §1, §6.8, §6.9), so others are UNKNOWN_TYPE as the TypeScript decoder says.
constexpr uint8_t kMsgTopologyUpdate = 3;
constexpr uint8_t kMsgLastDefined = 13;

// AVP codes a TOPOLOGY_UPDATE carries, and those whose value ranges §6.4 checks in any body.
constexpr uint8_t kAvpNodeId = 1;
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
constexpr uint8_t kAvpNodePort = 25;
constexpr uint8_t kAvpDashboardPort = 95;
constexpr uint8_t kAvpTokenHi = 96;
constexpr uint8_t kAvpTokenLo = 97;
constexpr uint8_t kAvpHeartbeatIntervalMs = 112;
constexpr uint8_t kAvpSelectionStage = 113;   // 1..4 (§6.10)
constexpr uint8_t kAvpSelectionReason = 114;  // 1..6 (§6.10)
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
constexpr uint32_t kRoleCoordinator = 3;
constexpr uint8_t kSelectionRoundRobin = 1;
constexpr uint8_t kSelectionIpid = 2;
constexpr uint8_t kSelectionFlow = 3;

// In the order the decoder checks them, as protocol/SPEC.md §6.4 fixes it and the
// TypeScript decoder (protocol/control-message.ts) runs them, so one byte string gets the
// same code from both.
enum class ControlError {
  kNone,
  kShort,              // fewer than the 6 header bytes
  kBadMagic,           // not 0x4443
  kBadVersion,         // not version 1
  kUnknownType,        // TYP not defined (14..31 are reserved)
  kTooManyAvps,        // LEN over 8192
  kLengthMismatch,     // size is not 6 + 5*LEN
  kMissingHmac,        // the last eight AVPs are not HMAC_0..HMAC_7 in order
  kBadHmac,            // the MAC does not verify under the given key
  kMissingAvp,         // a required AVP is absent: TIMESTAMP/SENDER_SEQ right before HMAC_0, one of
                       //   the type's, or half of an ANALYZER_IP/PORT pair or SYNC member group
  kRepeatedAvp,        // a single-valued AVP appears twice (an authentication AVP outside the trailer, too)
  kBadValue,           // a value out of range (port 0, SELECTION_TYPE 9, a node ID listed twice, ...)
  kNotTopologyUpdate,  // native only, after the MAC: an authentic message of another type, which
                       //   the in-band path ignores without checking its body (SPEC §6.4)
};

// Stable code for counters, logs and the JS side: "SHORT", "BAD_HMAC", ... ("OK" for kNone).
const char* ControlErrorCode(ControlError error);
// One-line human description of the error, for logs and tool output.
const char* ControlErrorReason(ControlError error);

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
  uint64_t token = 0;  // TOKEN_HI/TOKEN_LO (SPEC §6.10), 0 when absent
};

// The token an in-band frame's message carries where SPEC §6.10 puts it (its first two
// AVPs), read without authenticating anything, as the kernel's program reads it; 0 if none.
uint64_t InbandToken(const uint8_t* message, size_t len);

// Decodes and authenticates one in-band TOPOLOGY_UPDATE (protocol/SPEC.md §2): the header,
// the length, the HMAC trailer and its MAC under `key`/`key_len` (the cluster key as bytes;
// insecure mode's all-zero 32-byte key is not special-cased), then TOPOLOGY_UPDATE's body
// rules, in the order of the ControlError list, so a byte string of TYP 3 gets the code the
// TypeScript decoder gives it. An authentic message of another type is kNotTopologyUpdate:
// the in-band path never acts on one, so its body is not checked here. Freshness needs the
// frame's time and is the caller's job (IsTimestampFresh). `*out` is filled on kNone only.
ControlError DecodeInbandTopology(const uint8_t* bytes, size_t len, const uint8_t* key, size_t key_len,
                                  TopologyUpdate* out);

}  // namespace dicap
