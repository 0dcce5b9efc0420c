// The selection key of one Ethernet frame and the two selection hashes (SPEC.md §4).
// This runs for every captured frame, so it is header-only where it matters (the hashes)
// and ParseFrameKey reads each header byte at most once, with every read bounds-checked
// against `len`: any byte string, of any length, is a valid input.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../bpf/selection_abi.h"

namespace dicap {

// MurmurHash3's 32-bit finaliser, the one the kernel selection program uses too.
inline uint32_t Fmix32(uint32_t x) {
  return dicap_fmix32(x);
}

// EtherType of the in-band topology frame (SPEC.md §2). ParseFrameKey treats such a
// frame like any other non-IP frame; the caller checks for it first (ethertype ==
// kInbandEthertype and l3_offset == kEthernetHeaderLen, since it never carries a VLAN tag).
constexpr uint16_t kInbandEthertype = 0x88B5;

// Destination MAC + source MAC + EtherType. A shorter frame ("runt") belongs to position 0
// in every selection mode (SPEC.md §4); its FrameKey is all zeros, see ParseFrameKey.
constexpr size_t kEthernetHeaderLen = 14;

struct FrameKey {
  uint32_t a;          // address word: src ^ dst (IPv4), XOR of the 8 address words (IPv6),
                       //   XOR of the 3 MAC-address words (anything else)
  uint32_t p;          // sport ^ dport, or 0 (fragment, other protocol, ports cut off, not IP)
  uint32_t proto;      // IP protocol / last IPv6 next-header value, or the EtherType for non-IP
  bool has_ipv4_id;    // true for IPv4 frames (version 4, IHL >= 5, whole header present)
  uint16_t ipv4_id;    // the IPv4 Identification field when has_ipv4_id, else 0
  uint16_t ethertype;  // after at most two VLAN tags
  uint16_t l3_offset;  // where the payload after the Ethernet/VLAN headers starts; 0 for runts
};

// Parses the selection key of `frame` (`len` captured bytes, starting at the Ethernet
// header). Accepts any length: for len < kEthernetHeaderLen (frame may then be null if len is
// 0) it returns an all-zero key, recognisable by l3_offset == 0 — the caller gives such frames
// position 0 rather than hashing them. A VLAN tag is skipped only when the tag and the
// EtherType after it are both present; otherwise the TPID itself is the EtherType.
// Reads at most `len` bytes; never allocates; does not keep `frame`.
FrameKey ParseFrameKey(const uint8_t* frame, size_t len);

// flow_hash = fmix32(a ^ ((p << 16) | (proto & 0xFFFF)) ^ k0). Symmetric in the two
// directions of a conversation, because a and p are XORs of the two endpoints.
inline uint32_t FlowHash(const FrameKey& k, uint32_t k0) {
  return Fmix32(k.a ^ ((k.p << 16) | (k.proto & 0xFFFFu)) ^ k0);
}

// ipid_hash = fmix32(ipv4_identification ^ k0); meaningful only when FrameKey::has_ipv4_id.
inline uint32_t IpidHash(uint16_t id, uint32_t k0) {
  return Fmix32(uint32_t{id} ^ k0);
}

}  // namespace dicap
