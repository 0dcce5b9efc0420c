// Control-message decoding: header checks, the HMAC trailer and MAC (§1.1), then the
// per-type AVP rules of the §1 tables. The MAC is checked before any rule that looks at the
// meaning of AVPs, so unauthenticated bytes only ever reach the structural checks.
#include "control_message.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>

namespace dicap {
namespace {

constexpr size_t kMacLen = 32;

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// What §1 says about the AVPs of one message type. Lists end at the first 0 (no AVP has
// code 0).
struct MessageRule {
  std::array<uint8_t, 12> required;
  std::array<uint8_t, 4> multi_valued;  // AVPs that may repeat in this type
};

const MessageRule* RuleFor(uint8_t type) {
  static const MessageRule kRules[] = {
      /* JOIN (NODE_IP, NODE_PORT are required only for analyzers: see RequiredAvpsPresent) */
      {{kAvpNodeId, kAvpRole}, {}},
      /* ACCEPT (may list the analyzers) */
      {{kAvpNodeId, kAvpTerm, kAvpCoordinatorIp, kAvpCoordinatorPort, kAvpSelectionType},
       {kAvpAnalyzerIp, kAvpAnalyzerPort}},
      /* TOPOLOGY_UPDATE (analyzer pairs may be absent: distribution mode exports nothing) */
      {{kAvpTerm, kAvpEpoch, kAvpSelectionType, kAvpValidityStartS, kAvpValidityStartMs, kAvpNodeId, kAvpHashKey0,
        kAvpHashKey1, kAvpSnaplen},
       {kAvpNodeId, kAvpAnalyzerIp, kAvpAnalyzerPort}},
      /* HEARTBEAT */
      {{kAvpNodeId, kAvpEpoch}, {}},
      /* LEDGER: SEEN, OWNED, EXPORTED, DROPPED as HI/LO words (codes 32..39) */
      {{kAvpNodeId, kAvpEpoch, 32, 33, 34, 35, 36, 37, 38, kAvpDroppedLo}, {}},
      /* LEAVE */
      {{kAvpNodeId}, {}},
      /* ANNOUNCE */
      {{kAvpTerm, kAvpCoordinatorIp, kAvpCoordinatorPort}, {}},
      /* SYNC: membership as NODE_ID, ROLE, NODE_IP, NODE_PORT groups (possibly none) */
      {{kAvpTerm, kAvpEpoch}, {kAvpNodeId, kAvpRole, kAvpNodeIp, kAvpNodePort}},
  };
  if (type < kMsgJoin || type > kMsgSync) return nullptr;
  return &kRules[type - kMsgJoin];
}

// AVP codes the §1 table defines; codes outside it (the project's extensions 64..127 and
// unassigned ones) carry no repetition rule here.
bool IsDefinedAvp(uint8_t code) {
  return (code >= kAvpNodeId && code <= kAvpValidityStartMs) || (code >= kAvpTerm && code <= kAvpHashKey1) ||
         code == kAvpNodeIp || code == kAvpNodePort || (code >= kAvpSeenHi && code <= kAvpDroppedLo) ||
         code >= kAvpTimestamp;  // 239..248 (249..255 are unassigned but never legitimately repeated)
}

bool Contains(const std::array<uint8_t, 4>& list, uint8_t code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

// counts[code] = occurrences of the code among all AVPs, including the trailer.
ControlError CheckAvpRules(const MessageRule& rule, uint8_t type, const std::array<uint16_t, 256>& counts,
                           const ControlMessageView& msg) {
  for (int code = 1; code < 256; ++code) {
    if (counts[code] > 1 && IsDefinedAvp(static_cast<uint8_t>(code)) &&
        !Contains(rule.multi_valued, static_cast<uint8_t>(code))) {
      return ControlError::kRepeatedAvp;
    }
  }
  for (uint8_t code : rule.required) {
    if (code == 0) break;
    if (counts[code] == 0) return ControlError::kMissingAvp;
  }
  if (type == kMsgJoin) {
    // ROLE is present (required above) and single-valued; analyzers say where they listen.
    const auto role = std::find_if(msg.avps.begin(), msg.avps.end(), [](const auto& avp) { return avp.first == kAvpRole; });
    if (role->second == kRoleAnalyzer && (counts[kAvpNodeIp] == 0 || counts[kAvpNodePort] == 0)) {
      return ControlError::kMissingAvp;
    }
  }
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
    case ControlError::kNone: return "OK";
    case ControlError::kShort: return "SHORT";
    case ControlError::kLengthMismatch: return "LENGTH_MISMATCH";
    case ControlError::kBadMagic: return "BAD_MAGIC";
    case ControlError::kBadVersion: return "BAD_VERSION";
    case ControlError::kUnknownType: return "UNKNOWN_TYPE";
    case ControlError::kTooManyAvps: return "TOO_MANY_AVPS";
    case ControlError::kMissingAvp: return "MISSING_AVP";
    case ControlError::kRepeatedAvp: return "REPEATED_AVP";
    case ControlError::kMissingHmac: return "MISSING_HMAC";
    case ControlError::kBadHmac: return "BAD_HMAC";
    case ControlError::kBadValue: return "BAD_VALUE";
  }
  return "UNKNOWN_ERROR";
}

const char* ControlErrorReason(ControlError error) {
  switch (error) {
    case ControlError::kNone: return "control message is valid and authentic";
    case ControlError::kShort: return "control message is shorter than its 6-byte header";
    case ControlError::kLengthMismatch: return "control message size is not 6 + 5*LEN bytes";
    case ControlError::kBadMagic: return "control message does not start with magic 0x4443 (\"DC\")";
    case ControlError::kBadVersion: return "control message version is not 1";
    case ControlError::kUnknownType: return "control message type (TYP) is not one this decoder knows";
    case ControlError::kTooManyAvps: return "control message LEN is over 8192 AVPs";
    case ControlError::kMissingAvp: return "a required AVP of this message type is missing";
    case ControlError::kRepeatedAvp: return "a single-valued AVP appears more than once";
    case ControlError::kMissingHmac: return "control message does not end with the eight HMAC AVPs 241..248";
    case ControlError::kBadHmac: return "HMAC does not verify under the cluster key (forged, corrupted or other key)";
    case ControlError::kBadValue: return "an AVP value is out of its range";
  }
  return "unknown control message error";
}

ControlError DecodeControlMessage(const uint8_t* bytes, size_t len, const uint8_t* key, size_t key_len,
                                  ControlMessageView* out) {
  if (len < kControlHeaderLen) return ControlError::kShort;
  if (LoadBe16(bytes) != kControlMagic) return ControlError::kBadMagic;
  if (bytes[2] != kControlVersion) return ControlError::kBadVersion;
  const uint8_t type = bytes[3];
  const MessageRule* rule = RuleFor(type);
  if (rule == nullptr) return ControlError::kUnknownType;
  const size_t avp_count = LoadBe16(bytes + 4);
  if (avp_count > kControlMaxAvps) return ControlError::kTooManyAvps;
  if (len != kControlHeaderLen + kControlAvpLen * avp_count) return ControlError::kLengthMismatch;

  const uint8_t* avps = bytes + kControlHeaderLen;
  if (avp_count < kControlHmacAvps) return ControlError::kMissingHmac;
  const size_t content_count = avp_count - kControlHmacAvps;
  const uint8_t* mac_avps = avps + content_count * kControlAvpLen;
  for (size_t i = 0; i < kControlHmacAvps; ++i) {
    if (mac_avps[i * kControlAvpLen] != kAvpHmac0 + i) return ControlError::kMissingHmac;
  }

  std::array<uint16_t, 256> counts{};
  // The trailer's codes count once, so an HMAC AVP anywhere else counts as repeated.
  std::fill(counts.begin() + kAvpHmac0, counts.begin() + kAvpHmac0 + kControlHmacAvps, 1);
  out->type = type;
  out->avps.clear();
  out->avps.reserve(content_count);
  for (size_t i = 0; i < content_count; ++i) {
    const uint8_t* avp = avps + i * kControlAvpLen;
    out->avps.emplace_back(avp[0], LoadBe32(avp + 1));
    ++counts[avp[0]];
  }
  const bool has_trailer = content_count >= 2 && out->avps[content_count - 2].first == kAvpTimestamp &&
                           out->avps[content_count - 1].first == kAvpSenderSeq;
  out->timestamp = has_trailer ? out->avps[content_count - 2].second : 0;
  out->sender_seq = has_trailer ? out->avps[content_count - 1].second : 0;
  out->mac_valid = MacMatches(bytes, kControlHeaderLen + content_count * kControlAvpLen, mac_avps, key, key_len);
  if (!out->mac_valid) return ControlError::kBadHmac;

  if (!has_trailer) return ControlError::kMissingAvp;
  return CheckAvpRules(*rule, type, counts, *out);
}

ControlError ReadTopologyUpdate(const ControlMessageView& msg, TopologyUpdate* out) {
  if (msg.type != kMsgTopologyUpdate) return ControlError::kUnknownType;
  if (!msg.mac_valid) return ControlError::kBadHmac;
  *out = TopologyUpdate{};
  uint32_t validity_s = 0, validity_ms = 0, selection_type = 0;
  bool analyzer_ip_pending = false;
  uint32_t analyzer_ip = 0;
  for (const auto& [code, value] : msg.avps) {
    if (analyzer_ip_pending && code != kAvpAnalyzerPort) return ControlError::kMissingAvp;
    switch (code) {
      case kAvpTerm: out->term = value; break;
      case kAvpEpoch: out->epoch = value; break;
      case kAvpSelectionType: selection_type = value; break;
      case kAvpValidityStartS: validity_s = value; break;
      case kAvpValidityStartMs: validity_ms = value; break;
      case kAvpNodeId: out->node_ids.push_back(value); break;
      case kAvpHashKey0: out->k0 = value; break;
      case kAvpHashKey1: out->k1 = value; break;
      case kAvpSnaplen: out->snaplen = value; break;
      case kAvpTimestamp: out->timestamp = value; break;
      case kAvpSenderSeq: out->sender_seq = value; break;
      case kAvpAnalyzerIp:
        analyzer_ip = value;
        analyzer_ip_pending = true;
        break;
      case kAvpAnalyzerPort:
        if (!analyzer_ip_pending) return ControlError::kMissingAvp;
        if (value > 0xFFFF) return ControlError::kBadValue;
        out->analyzers.emplace_back(analyzer_ip, static_cast<uint16_t>(value));
        analyzer_ip_pending = false;
        break;
      default: break;  // optional and extension AVPs
    }
  }
  if (analyzer_ip_pending) return ControlError::kMissingAvp;
  if (out->node_ids.empty()) return ControlError::kMissingAvp;
  if (selection_type < kSelectionRoundRobin || selection_type > kSelectionFlow || validity_ms >= 1000) {
    return ControlError::kBadValue;
  }
  std::vector<uint32_t> sorted_ids = out->node_ids;
  std::sort(sorted_ids.begin(), sorted_ids.end());
  if (std::adjacent_find(sorted_ids.begin(), sorted_ids.end()) != sorted_ids.end()) return ControlError::kBadValue;
  out->selection_type = static_cast<uint8_t>(selection_type);
  out->validity_start_ms = uint64_t{validity_s} * 1000 + validity_ms;
  return ControlError::kNone;
}

}  // namespace dicap
