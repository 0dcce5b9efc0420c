// ParseFrameKey: SPEC.md §4 "Parsing a frame", rule by rule. Every helper receives a
// pointer and the number of bytes left after it and checks before it reads.
#include "frame_key.h"

#include <cstring>

#include "byte_order.h"

namespace dicap {
namespace {

constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86DD;
constexpr int kMaxVlanTags = 2;
constexpr int kMaxIpv6ExtensionHeaders = 8;
constexpr size_t kIpv4MinHeaderLen = 20;
constexpr size_t kIpv6HeaderLen = 40;

// The address word `a` is an XOR of 32-bit big-endian words. XOR commutes with byte order,
// so we XOR the words as they lie in memory and swap once at the end.
inline uint32_t LoadRaw32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t RawToHost(uint32_t raw) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return __builtin_bswap32(raw);
#else
  return raw;
#endif
}

inline bool IsVlanTpid(uint16_t type) {
  return type == 0x8100 || type == 0x88A8 || type == 0x9100;
}

// Protocols whose first four payload bytes are the source and destination ports:
// TCP, UDP, SCTP, UDP-Lite.
inline bool HasPorts(uint32_t proto) {
  return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

inline uint32_t PortWord(const uint8_t* l4, size_t l4_len, uint32_t proto, bool fragment) {
  if (fragment || l4_len < 4 || !HasPorts(proto)) return 0;
  return static_cast<uint32_t>(LoadBe16(l4) ^ LoadBe16(l4 + 2));
}

// Fills a, p, proto and the IPv4 ID; returns false (leaving `key` untouched) when the
// bytes are not an IPv4 header with all its IHL*4 bytes present.
bool ParseIpv4(const uint8_t* ip, size_t ip_len, FrameKey* key) {
  if (ip_len < kIpv4MinHeaderLen || (ip[0] >> 4) != 4) return false;
  const size_t header_len = static_cast<size_t>(ip[0] & 0x0F) * 4;
  if (header_len < kIpv4MinHeaderLen || header_len > ip_len) return false;
  const bool fragment = (LoadBe16(ip + 6) & 0x3FFF) != 0;  // MF flag or a fragment offset
  key->a = RawToHost(LoadRaw32(ip + 12) ^ LoadRaw32(ip + 16));
  key->proto = ip[9];
  key->p = PortWord(ip + header_len, ip_len - header_len, key->proto, fragment);
  key->has_ipv4_id = true;
  key->ipv4_id = LoadBe16(ip + 4);
  return true;
}

// Length of the IPv6 extension header of type `type` at `ext`, or 0 if `type` is not one
// we walk. `ext` has at least 2 bytes.
inline size_t Ipv6ExtensionLen(uint8_t type, const uint8_t* ext) {
  switch (type) {
    case 0:   // hop-by-hop options
    case 43:  // routing
    case 60:  // destination options
      return (static_cast<size_t>(ext[1]) + 1) * 8;
    case 51:  // authentication header counts 4-byte units, minus 2
      return (static_cast<size_t>(ext[1]) + 2) * 4;
    case 44:  // fragment
      return 8;
    default:
      return 0;
  }
}

inline bool IsWalkedExtension(uint8_t type) {
  return type == 0 || type == 43 || type == 60 || type == 51 || type == 44;
}

// Fills a, p and proto; returns false (leaving `key` untouched) when there is no complete
// 40-byte IPv6 header.
bool ParseIpv6(const uint8_t* ip, size_t ip_len, FrameKey* key) {
  if (ip_len < kIpv6HeaderLen || (ip[0] >> 4) != 6) return false;
  uint32_t a = 0;
  for (size_t word = 8; word < kIpv6HeaderLen; word += 4) a ^= LoadRaw32(ip + word);
  key->a = RawToHost(a);

  uint8_t next = ip[6];
  size_t offset = kIpv6HeaderLen;
  bool fragment = false;
  for (int walked = 0; walked < kMaxIpv6ExtensionHeaders && IsWalkedExtension(next); ++walked) {
    const size_t ext_len = offset + 2 <= ip_len ? Ipv6ExtensionLen(next, ip + offset) : 0;
    if (ext_len == 0 || ext_len > ip_len - offset) {
      // Cut off: the walk stops at this header, which then names the protocol; no ports.
      key->proto = next;
      key->p = 0;
      return true;
    }
    if (next == 44) fragment = true;
    next = ip[offset];
    offset += ext_len;
  }
  key->proto = next;
  key->p = PortWord(ip + offset, ip_len - offset, next, fragment);
  return true;
}

}  // namespace

FrameKey ParseFrameKey(const uint8_t* frame, size_t len) {
  FrameKey key{};
  if (len < kEthernetHeaderLen) return key;

  size_t type_offset = 12;
  uint16_t type = LoadBe16(frame + type_offset);
  // Skip a tag only if its TCI and the EtherType after it are present (4 + 2 bytes).
  for (int tags = 0; tags < kMaxVlanTags && IsVlanTpid(type) && type_offset + 6 <= len; ++tags) {
    type_offset += 4;
    type = LoadBe16(frame + type_offset);
  }
  const size_t l3_offset = type_offset + 2;
  key.ethertype = type;
  key.l3_offset = static_cast<uint16_t>(l3_offset);

  const uint8_t* l3 = frame + l3_offset;
  const size_t l3_len = len - l3_offset;
  if (type == kEthertypeIpv4 && ParseIpv4(l3, l3_len, &key)) return key;
  if (type == kEthertypeIpv6 && ParseIpv6(l3, l3_len, &key)) return key;

  // Anything else (ARP, LLDP, truncated or invalid IP): the MAC addresses and the EtherType.
  key.a = RawToHost(LoadRaw32(frame) ^ LoadRaw32(frame + 4) ^ LoadRaw32(frame + 8));
  key.p = 0;
  key.proto = type;
  return key;
}

}  // namespace dicap
