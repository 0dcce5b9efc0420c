// In-band TOPOLOGY_UPDATE decoding: header checks, the HMAC trailer and MAC (§1.1), then
// TOPOLOGY_UPDATE's AVP rules as protocol/SPEC.md §6.4 states them. The MAC is checked
// before any rule about the meaning of AVPs, so forged bytes never reach them.
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

// TOPOLOGY_UPDATE's body as §1 states it: at least one NODE_ID (without capture nodes no
// frame has an owner), each node once; analyzers as ANALYZER_IP, ANALYZER_PORT pairs (none
// is distribution mode, which exports nothing). Lists end at the first 0.
constexpr std::array<uint8_t, 9> kRequired = {kAvpTerm,           kAvpEpoch,           kAvpSelectionType,
                                              kAvpValidityStartS, kAvpValidityStartMs, kAvpHashKey0,
                                              kAvpHashKey1,       kAvpSnaplen,         kAvpNodeId};
constexpr std::array<uint8_t, 3> kRepeatable = {kAvpNodeId, kAvpAnalyzerIp, kAvpAnalyzerPort};
constexpr std::array<uint8_t, 2> kAnalyzerGroup = {kAvpAnalyzerIp, kAvpAnalyzerPort};

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

// AVP codes protocol version 1 and dicap's extensions define (SPEC §1, §6): a defined
// single-valued code may not repeat in any body; other codes are carried along without rules.
bool IsDefinedAvp(uint8_t code) {
  return (code >= 1 && code <= 8) || (code >= 16 && code <= 21) || code == 24 || code == 25 ||
         (code >= 32 && code <= 39) || (code >= 64 && code <= 95) ||
         (code >= kAvpHeartbeatIntervalMs && code <= kAvpSelectionReason) || IsAuthAvp(code);
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
    case kAvpSelectionStage:
      return value >= 1 && value <= 4;
    case kAvpSelectionReason:
      return value >= 1 && value <= 6;
    default:
      return true;
  }
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
// in the body repeats the trailer's), presence, value ranges, the analyzer pairs, then
// distinct node IDs.
ControlError CheckTopologyBody(const Avps& body) {
  std::array<uint16_t, 256> counts{};
  for (const auto& avp : body) {
    if (IsAuthAvp(avp.first)) return ControlError::kRepeatedAvp;
    ++counts[avp.first];
  }
  for (size_t code = 0; code < counts.size(); ++code) {
    if (counts[code] > 1 && IsDefinedAvp(static_cast<uint8_t>(code)) &&
        !ListHas(kRepeatable, static_cast<uint8_t>(code))) {
      return ControlError::kRepeatedAvp;
    }
  }
  for (uint8_t code : kRequired) {
    if (counts[code] == 0) return ControlError::kMissingAvp;
  }
  for (const auto& [code, value] : body) {
    if (!IsValueInRange(code, value)) return ControlError::kBadValue;
  }
  const ControlError group_error = CheckGroups(body, kAnalyzerGroup);
  if (group_error != ControlError::kNone) return group_error;
  if (!HasDistinctNodeIds(body)) return ControlError::kBadValue;
  return ControlError::kNone;
}

// The fields of a body that CheckTopologyBody accepted.
void ReadTopology(const Avps& body, TopologyUpdate* out) {
  *out = TopologyUpdate{};
  uint32_t validity_s = 0, validity_ms = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const auto [code, value] = body[i];
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
      case kAvpAnalyzerIp:  // CheckGroups has seen its ANALYZER_PORT right after it
        out->analyzers.emplace_back(value, static_cast<uint16_t>(body[++i].second));
        break;
      case kAvpTokenHi:
        out->token = (out->token & 0xFFFFFFFFull) | (uint64_t{value} << 32);
        break;
      case kAvpTokenLo:
        out->token = (out->token & ~0xFFFFFFFFull) | value;
        break;
      default:
        break;  // optional and extension AVPs
    }
  }
  out->validity_start_ms = uint64_t{validity_s} * 1000 + validity_ms;
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

// Each error's stable code and its one-line description.
struct ControlErrorText {
  ControlError error;
  const char* code;
  const char* reason;
};
constexpr ControlErrorText kControlErrorTexts[] = {
    {ControlError::kNone, "OK", "the control message is well-formed and authentic"},
    {ControlError::kShort, "SHORT", "the control message is shorter than its 6-byte header"},
    {ControlError::kBadMagic, "BAD_MAGIC", "the control message does not start with magic 0x4443 (\"DC\")"},
    {ControlError::kBadVersion, "BAD_VERSION", "the control message version is not 1"},
    {ControlError::kUnknownType, "UNKNOWN_TYPE",
     "the message type (TYP) is not defined in protocol version 1"},
    {ControlError::kTooManyAvps, "TOO_MANY_AVPS", "the control message LEN is over the limit of 8192 AVPs"},
    {ControlError::kLengthMismatch, "LENGTH_MISMATCH",
     "the control message size is not exactly 6 + 5*LEN bytes"},
    {ControlError::kMissingHmac, "MISSING_HMAC", "the message does not end with HMAC_0..HMAC_7 in order"},
    {ControlError::kBadHmac, "BAD_HMAC",
     "the HMAC does not verify: wrong cluster key, or the message was altered"},
    {ControlError::kMissingAvp, "MISSING_AVP",
     "a required AVP is missing (TIMESTAMP/SENDER_SEQ before HMAC_0, one of the type's, or half of a pair or "
     "member group)"},
    {ControlError::kRepeatedAvp, "REPEATED_AVP",
     "a single-valued AVP appears more than once (or an authentication AVP outside the trailer)"},
    {ControlError::kBadValue, "BAD_VALUE", "an AVP value is out of its range, or a node ID is listed twice"},
    {ControlError::kNotTopologyUpdate, "NOT_TOPOLOGY_UPDATE",
     "an authentic control message that is not a TOPOLOGY_UPDATE, which an in-band frame must be"},
};

const ControlErrorText* TextOf(ControlError error) {
  for (const ControlErrorText& text : kControlErrorTexts)
    if (text.error == error) return &text;
  return nullptr;
}

}  // namespace

const char* ControlErrorCode(ControlError error) {
  const ControlErrorText* text = TextOf(error);
  return text != nullptr ? text->code : "UNKNOWN_ERROR";
}

const char* ControlErrorReason(ControlError error) {
  const ControlErrorText* text = TextOf(error);
  return text != nullptr ? text->reason : "unknown control message error";
}

ControlError DecodeInbandTopology(const uint8_t* bytes, size_t len, const uint8_t* key, size_t key_len,
                                  TopologyUpdate* out) {
  if (len < kControlHeaderLen) return ControlError::kShort;
  if (LoadBe16(bytes) != kControlMagic) return ControlError::kBadMagic;
  if (bytes[2] != kControlVersion) return ControlError::kBadVersion;
  const uint8_t type = bytes[3];
  if (type < 1 || type > kMsgLastDefined) return ControlError::kUnknownType;
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
  if (type != kMsgTopologyUpdate) return ControlError::kNotTopologyUpdate;
  Avps body;
  body.reserve(body_count);
  for (size_t i = 0; i < body_count; ++i) {
    const uint8_t* avp = avps + i * kControlAvpLen;
    body.emplace_back(avp[0], LoadBe32(avp + 1));
  }
  const ControlError body_error = CheckTopologyBody(body);
  if (body_error != ControlError::kNone) return body_error;
  ReadTopology(body, out);
  out->timestamp = LoadBe32(trailer + 1);
  out->sender_seq = LoadBe32(trailer + kControlAvpLen + 1);
  return ControlError::kNone;
}

uint64_t InbandToken(const uint8_t* message, size_t len) {
  if (len < 16 || LoadBe16(message) != kControlMagic || message[2] != kControlVersion ||
      message[3] != kMsgTopologyUpdate || message[6] != kAvpTokenHi || message[11] != kAvpTokenLo) {
    return 0;
  }
  return (uint64_t{LoadBe32(message + 7)} << 32) | LoadBe32(message + 12);
}

}  // namespace dicap
