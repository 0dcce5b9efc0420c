// Control-message decoding: header checks, the HMAC trailer and MAC (§1.1), then the
// per-type AVP rules of the §1 tables as protocol/SPEC.md §6.4 states them. The MAC is
// checked before any rule about the meaning of AVPs, so forged bytes never reach them.
#include "control_message.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>

#include "byte_order.h"

namespace dicap {
namespace {

constexpr size_t kMacLen = 32;

// What §1 says about the body (the AVPs before TIMESTAMP) of one message type. Lists end
// at the first 0 (no AVP has code 0).
struct MessageRule {
  std::array<uint8_t, 10> required;   // each at least once (single-valued ones: exactly once)
  std::array<uint8_t, 4> repeatable;  // may appear any number of times
  std::array<uint8_t, 4> group;       // repeatable AVPs that only come as whole runs in this order
                                      //   (a broken run lacks a member: kMissingAvp)
  bool distinct_node_ids;             // NODE_ID lists a set of nodes: no ID twice
};

const MessageRule* RuleFor(uint8_t type) {
  static const MessageRule kRules[] = {
      /* JOIN (analyzers also send NODE_IP and NODE_PORT: see CheckJoin) */
      {{kAvpNodeId, kAvpRole}, {}, {}, false},
      /* ACCEPT (may list the analyzers) */
      {{kAvpNodeId, kAvpTerm, kAvpCoordinatorIp, kAvpCoordinatorPort, kAvpSelectionType},
       {kAvpAnalyzerIp, kAvpAnalyzerPort},
       {kAvpAnalyzerIp, kAvpAnalyzerPort},
       false},
      /* TOPOLOGY_UPDATE (at least one NODE_ID: without capture nodes no frame has an owner;
         no analyzer pair is distribution mode, which exports nothing) */
      {{kAvpTerm, kAvpEpoch, kAvpSelectionType, kAvpValidityStartS, kAvpValidityStartMs, kAvpHashKey0,
        kAvpHashKey1, kAvpSnaplen, kAvpNodeId},
       {kAvpNodeId, kAvpAnalyzerIp, kAvpAnalyzerPort},
       {kAvpAnalyzerIp, kAvpAnalyzerPort},
       true},
      /* HEARTBEAT */
      {{kAvpNodeId, kAvpEpoch}, {}, {}, false},
      /* LEDGER */
      {{kAvpNodeId, kAvpEpoch, kAvpSeenHi, kAvpSeenLo, kAvpOwnedHi, kAvpOwnedLo, kAvpExportedHi,
        kAvpExportedLo, kAvpDroppedHi, kAvpDroppedLo},
       {},
       {},
       false},
      /* LEAVE */
      {{kAvpNodeId}, {}, {}, false},
      /* ANNOUNCE */
      {{kAvpTerm, kAvpCoordinatorIp, kAvpCoordinatorPort}, {}, {}, false},
      /* SYNC: the membership as NODE_ID, ROLE, NODE_IP, NODE_PORT groups (possibly none) */
      {{kAvpTerm, kAvpEpoch},
       {kAvpNodeId, kAvpRole, kAvpNodeIp, kAvpNodePort},
       {kAvpNodeId, kAvpRole, kAvpNodeIp, kAvpNodePort},
       true},
      /* VOTE_REQUEST, VOTE, SYNC_ACK: the coordinator election (protocol/SPEC.md §6.8) */
      {{kAvpTerm, kAvpCoordinatorId, kAvpEpoch}, {}, {}, false},
      {{kAvpTerm, kAvpCoordinatorId}, {}, {}, false},
      {{kAvpTerm, kAvpCoordinatorId}, {}, {}, false},
      /* IPID_HISTOGRAM: exactly kIpidHistogramBins bins (see CheckBody) */
      {{kAvpNodeId, kAvpIpidFramesHi, kAvpIpidFramesLo, kAvpIpidBin}, {kAvpIpidBin}, {}, false},
      /* ANALYZER_REPORT */
      {{kAvpNodeId, kAvpSourceNodeId, kAvpRecordsReceivedHi, kAvpRecordsReceivedLo, kAvpDatagramsReceivedHi,
        kAvpDatagramsReceivedLo, kAvpLostDatagramsHi, kAvpLostDatagramsLo},
       {},
       {},
       false},
  };
  if (type < kMsgJoin || type > kMsgAnalyzerReport) return nullptr;
  return &kRules[type - kMsgJoin];
}

template <size_t N>
bool ListHas(const std::array<uint8_t, N>& list, uint8_t code) {
  for (uint8_t entry : list) {
    if (entry == 0) return false;
    if (entry == code) return true;
  }
  return false;
}

template <size_t N>
size_t ListLen(const std::array<uint8_t, N>& list) {
  return static_cast<size_t>(std::find(list.begin(), list.end(), 0) - list.begin());
}

// AVP codes protocol version 1 and dicap's extensions define. Other codes (the unassigned
// ones of 64..127 and elsewhere) are carried along without rules.
bool IsDefinedAvp(uint8_t code) {
  return (code >= kAvpNodeId && code <= kAvpValidityStartMs) || (code >= kAvpTerm && code <= kAvpHashKey1) ||
         code == kAvpNodeIp || code == kAvpNodePort || (code >= kAvpSeenHi && code <= kAvpDroppedLo) ||
         (code >= kAvpSeenTerm && code <= kAvpDashboardPort) || IsAuthAvp(code);
}

// The optional AVPs a type carries all together or not at all (protocol/SPEC.md §6.9): the
// codes first..last of HEARTBEAT's engine counters and of SYNC's dashboard address.
struct OptionalSet {
  uint8_t first, last;
};
OptionalSet OptionalSetOf(uint8_t type) {
  if (type == kMsgHeartbeat) return {kAvpRingPacketsHi, kAvpNoAnalyzerLo};
  if (type == kMsgSync) return {kAvpDashboardIp, kAvpDashboardPort};
  return {0, 0};
}

using Avps = std::vector<std::pair<uint8_t, uint32_t>>;

bool IsValueInRange(uint8_t code, uint32_t value) {
  switch (code) {
    case kAvpCoordinatorPort:
    case kAvpAnalyzerPort:
    case kAvpNodePort:
    case kAvpDashboardPort:
    case kAvpSnaplen:
      return value >= 1 && value <= 0xFFFF;
    case kAvpSelectionType:
      return value >= kSelectionRoundRobin && value <= kSelectionFlow;
    case kAvpRole:
      return value >= kRoleCapture && value <= kRoleCoordinator;
    case kAvpValidityStartMs:
      return value <= 999;
    default:
      return true;
  }
}

// JOIN and HEARTBEAT: NODE_IP and NODE_PORT come together, and an analyzer must send them.
ControlError CheckJoin(const Avps& body) {
  bool analyzer = false, has_ip = false, has_port = false;
  for (const auto& [code, value] : body) {
    analyzer |= code == kAvpRole && value == kRoleAnalyzer;
    has_ip |= code == kAvpNodeIp;
    has_port |= code == kAvpNodePort;
  }
  return (has_ip && has_port) || (!has_ip && !has_port && !analyzer) ? ControlError::kNone
                                                                     : ControlError::kMissingAvp;
}

// Every AVP of `group` appears only inside a complete, consecutive run of the group, in order.
template <size_t N>
ControlError CheckGroups(const Avps& body, const std::array<uint8_t, N>& group) {
  const size_t group_len = ListLen(group);
  if (group_len == 0) return ControlError::kNone;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i].first == group[0]) {
      if (body.size() - i < group_len) return ControlError::kMissingAvp;
      for (size_t k = 1; k < group_len; ++k) {
        if (body[i + k].first != group[k]) return ControlError::kMissingAvp;
      }
      i += group_len - 1;
    } else if (ListHas(group, body[i].first)) {
      return ControlError::kMissingAvp;
    }
  }
  return ControlError::kNone;
}

bool HasDistinctNodeIds(const Avps& body) {
  std::vector<uint32_t> ids;
  for (const auto& [code, value] : body) {
    if (code == kAvpNodeId) ids.push_back(value);
  }
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

// The body rules, in the TypeScript decoder's order: repetition (an authentication AVP
// in the body repeats the trailer's), presence, value ranges, then the type's own rules.
ControlError CheckBody(uint8_t type, const MessageRule& rule, const Avps& body) {
  std::array<uint16_t, 256> counts{};
  for (const auto& avp : body) {
    if (IsAuthAvp(avp.first)) return ControlError::kRepeatedAvp;
    ++counts[avp.first];
  }
  for (size_t code = 0; code < counts.size(); ++code) {
    if (counts[code] > 1 && IsDefinedAvp(static_cast<uint8_t>(code)) &&
        !ListHas(rule.repeatable, static_cast<uint8_t>(code))) {
      return ControlError::kRepeatedAvp;
    }
  }
  for (uint8_t code : rule.required) {
    if (code != 0 && counts[code] == 0) return ControlError::kMissingAvp;
  }
  for (const auto& [code, value] : body) {
    if (!IsValueInRange(code, value)) return ControlError::kBadValue;
  }
  const OptionalSet set = OptionalSetOf(type);
  if (set.first != 0) {
    size_t present = 0;
    for (size_t code = set.first; code <= set.last; ++code)
      present += counts[code] != 0;  // each at most once here
    if (present != 0 && present != size_t{set.last} - set.first + 1u) return ControlError::kMissingAvp;
  }
  if (type == kMsgIpidHistogram && counts[kAvpIpidBin] != kIpidHistogramBins) return ControlError::kBadValue;
  if (type == kMsgJoin || type == kMsgHeartbeat)
    return CheckJoin(body);  // same NODE_IP/NODE_PORT rule (SPEC §6.7)
  const ControlError group_error = CheckGroups(body, rule.group);
  if (group_error != ControlError::kNone) return group_error;
  if (rule.distinct_node_ids && !HasDistinctNodeIds(body)) return ControlError::kBadValue;
  return ControlError::kNone;
}

bool MacMatches(const uint8_t* signed_bytes, size_t signed_len, const uint8_t* mac_avps, const uint8_t* key,
                size_t key_len) {
  // OpenSSL reads a null key as "reuse the previous key"; an empty key must still be a key.
  static const uint8_t kEmptyKey = 0;
  uint8_t computed[EVP_MAX_MD_SIZE];
  unsigned int computed_len = 0;
  if (HMAC(EVP_sha256(), key_len != 0 ? key : &kEmptyKey, static_cast<int>(key_len), signed_bytes, signed_len,
           computed, &computed_len) == nullptr ||
      computed_len != kMacLen) {
    return false;
  }
  // HMAC_i is the value of the i-th HMAC AVP: bytes 4i..4i+3 of the MAC, after its code byte.
  uint8_t received[kMacLen];
  for (size_t i = 0; i < kControlHmacAvps; ++i) {
    std::copy_n(mac_avps + i * kControlAvpLen + 1, 4, received + 4 * i);
  }
  return CRYPTO_memcmp(computed, received, kMacLen) == 0;
}

}  // namespace

const char* ControlErrorCode(ControlError error) {
  switch (error) {
    case ControlError::kNone:
      return "OK";
    case ControlError::kShort:
      return "SHORT";
    case ControlError::kBadMagic:
      return "BAD_MAGIC";
    case ControlError::kBadVersion:
      return "BAD_VERSION";
    case ControlError::kUnknownType:
      return "UNKNOWN_TYPE";
    case ControlError::kTooManyAvps:
      return "TOO_MANY_AVPS";
    case ControlError::kLengthMismatch:
      return "LENGTH_MISMATCH";
    case ControlError::kMissingHmac:
      return "MISSING_HMAC";
    case ControlError::kBadHmac:
      return "BAD_HMAC";
    case ControlError::kMissingAvp:
      return "MISSING_AVP";
    case ControlError::kRepeatedAvp:
      return "REPEATED_AVP";
    case ControlError::kBadValue:
      return "BAD_VALUE";
  }
  return "UNKNOWN_ERROR";
}

const char* ControlErrorReason(ControlError error) {
  switch (error) {
    case ControlError::kNone:
      return "the control message is well-formed and authentic";
    case ControlError::kShort:
      return "the control message is shorter than its 6-byte header";
    case ControlError::kBadMagic:
      return "the control message does not start with magic 0x4443 (\"DC\")";
    case ControlError::kBadVersion:
      return "the control message version is not 1";
    case ControlError::kUnknownType:
      return "the message type (TYP) is not defined in protocol version 1";
    case ControlError::kTooManyAvps:
      return "the control message LEN is over the limit of 8192 AVPs";
    case ControlError::kLengthMismatch:
      return "the control message size is not exactly 6 + 5*LEN bytes";
    case ControlError::kMissingHmac:
      return "the message does not end with HMAC_0..HMAC_7 in order";
    case ControlError::kBadHmac:
      return "the HMAC does not verify: wrong cluster key, or the message was altered";
    case ControlError::kMissingAvp:
      return "a required AVP is missing (TIMESTAMP/SENDER_SEQ before HMAC_0, one of the type's, or half of a "
             "pair "
             "or member group)";
    case ControlError::kRepeatedAvp:
      return "a single-valued AVP appears more than once (or an authentication AVP outside the trailer)";
    case ControlError::kBadValue:
      return "an AVP value is out of its range, or a node ID is listed twice";
  }
  return "unknown control message error";
}

ControlError DecodeControlMessage(const uint8_t* bytes, size_t len, const uint8_t* key, size_t key_len,
                                  ControlMessageView* out) {
  out->mac_valid = false;
  if (len < kControlHeaderLen) return ControlError::kShort;
  if (LoadBe16(bytes) != kControlMagic) return ControlError::kBadMagic;
  if (bytes[2] != kControlVersion) return ControlError::kBadVersion;
  const uint8_t type = bytes[3];
  const MessageRule* rule = RuleFor(type);
  if (rule == nullptr) return ControlError::kUnknownType;
  const size_t avp_count = LoadBe16(bytes + 4);
  if (avp_count > kControlMaxAvps) return ControlError::kTooManyAvps;
  if (len != kControlHeaderLen + kControlAvpLen * avp_count) return ControlError::kLengthMismatch;

  // The MAC: HMAC_0..HMAC_7 as the last AVPs, over every byte before them.
  const uint8_t* avps = bytes + kControlHeaderLen;
  if (avp_count < kControlHmacAvps) return ControlError::kMissingHmac;
  const uint8_t* mac_avps = avps + (avp_count - kControlHmacAvps) * kControlAvpLen;
  for (size_t i = 0; i < kControlHmacAvps; ++i) {
    if (mac_avps[i * kControlAvpLen] != kAvpHmac0 + i) return ControlError::kMissingHmac;
  }
  if (!MacMatches(bytes, static_cast<size_t>(mac_avps - bytes), mac_avps, key, key_len))
    return ControlError::kBadHmac;

  // TIMESTAMP and SENDER_SEQ right before HMAC_0; the body is everything before them.
  if (avp_count < kControlTrailerAvps) return ControlError::kMissingAvp;
  const size_t body_count = avp_count - kControlTrailerAvps;
  const uint8_t* trailer = avps + body_count * kControlAvpLen;
  if (trailer[0] != kAvpTimestamp || trailer[kControlAvpLen] != kAvpSenderSeq)
    return ControlError::kMissingAvp;
  out->type = type;
  out->timestamp = LoadBe32(trailer + 1);
  out->sender_seq = LoadBe32(trailer + kControlAvpLen + 1);
  out->avps.clear();
  out->avps.reserve(body_count);
  for (size_t i = 0; i < body_count; ++i) {
    const uint8_t* avp = avps + i * kControlAvpLen;
    out->avps.emplace_back(avp[0], LoadBe32(avp + 1));
  }
  const ControlError body_error = CheckBody(type, *rule, out->avps);
  if (body_error != ControlError::kNone) return body_error;
  out->mac_valid = true;
  return ControlError::kNone;
}

ControlError ReadTopologyUpdate(const ControlMessageView& msg, TopologyUpdate* out) {
  if (msg.type != kMsgTopologyUpdate) return ControlError::kUnknownType;
  if (!msg.mac_valid) return ControlError::kBadHmac;
  *out = TopologyUpdate{};
  uint32_t validity_s = 0, validity_ms = 0;
  for (size_t i = 0; i < msg.avps.size(); ++i) {
    const auto [code, value] = msg.avps[i];
    switch (code) {
      case kAvpTerm:
        out->term = value;
        break;
      case kAvpEpoch:
        out->epoch = value;
        break;
      case kAvpSelectionType:
        out->selection_type = static_cast<uint8_t>(value);
        break;
      case kAvpValidityStartS:
        validity_s = value;
        break;
      case kAvpValidityStartMs:
        validity_ms = value;
        break;
      case kAvpNodeId:
        out->node_ids.push_back(value);
        break;
      case kAvpHashKey0:
        out->k0 = value;
        break;
      case kAvpHashKey1:
        out->k1 = value;
        break;
      case kAvpSnaplen:
        out->snaplen = value;
        break;
      case kAvpAnalyzerIp:
        // The decoder has checked that its ANALYZER_PORT follows; a hand-made view may not.
        if (i + 1 == msg.avps.size() || msg.avps[i + 1].first != kAvpAnalyzerPort)
          return ControlError::kMissingAvp;
        out->analyzers.emplace_back(value, static_cast<uint16_t>(msg.avps[++i].second));
        break;
      default:
        break;  // optional and extension AVPs
    }
  }
  if (out->node_ids.empty()) return ControlError::kMissingAvp;
  out->validity_start_ms = uint64_t{validity_s} * 1000 + validity_ms;
  out->timestamp = msg.timestamp;
  out->sender_seq = msg.sender_seq;
  return ControlError::kNone;
}

}  // namespace dicap
