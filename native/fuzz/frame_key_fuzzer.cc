// libFuzzer target: PROTOCOL.md §4 frame parsing and the selection hashes (frame_key.h,
// flow_owner_table.h) on any bytes as an Ethernet frame. libFuzzer hands the input in a
// buffer of exactly its size, so AddressSanitizer sees any read past `len`.
// Beyond memory safety: the key's documented invariants, the flow owner in range, and the
// flow hash of an IPv4 frame equal to that of its mirror image (addresses and ports
// swapped): the hash is the same in both directions of a conversation.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "flow_owner_table.h"
#include "frame_key.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

constexpr uint32_t kK0 = 0x1234, kK1 = 0x5678;  // SPEC §5's keys

// The frame with IPv4 source and destination swapped, and the ports when the key has them.
std::vector<uint8_t> MirrorIpv4(const uint8_t* frame, size_t len, const dicap::FrameKey& key) {
  std::vector<uint8_t> mirror(frame, frame + len);
  uint8_t* ip = mirror.data() + key.l3_offset;
  for (int i = 0; i < 4; ++i) std::swap(ip[12 + i], ip[16 + i]);
  const size_t header_len = static_cast<size_t>(ip[0] & 0x0F) * 4;
  if (key.p != 0) {
    uint8_t* l4 = ip + header_len;
    std::swap(l4[0], l4[2]);
    std::swap(l4[1], l4[3]);
  }
  return mirror;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dicap::FlowOwnerTable owners({11, 22, 33}, kK1);
  const dicap::FrameKey key = dicap::ParseFrameKey(data, size);
  if (size < dicap::kEthernetHeaderLen) {
    Require(key.l3_offset == 0 && key.a == 0 && key.p == 0 && key.proto == 0 && !key.has_ipv4_id);
    return 0;
  }
  Require(key.l3_offset >= dicap::kEthernetHeaderLen && key.l3_offset <= size);
  Require(key.has_ipv4_id || key.ipv4_id == 0);
  Require(!key.has_ipv4_id || key.ethertype == 0x0800);
  const uint32_t flow_hash = dicap::FlowHash(key, kK0);
  Require(owners.PositionOfHash(flow_hash) < 3);
  if (key.has_ipv4_id) (void)dicap::IpidHash(key.ipv4_id, kK0);
  if (key.has_ipv4_id) {
    const std::vector<uint8_t> mirror = MirrorIpv4(data, size, key);
    const dicap::FrameKey mirrored = dicap::ParseFrameKey(mirror.data(), mirror.size());
    Require(mirrored.a == key.a && mirrored.p == key.p && mirrored.proto == key.proto);
    Require(dicap::FlowHash(mirrored, kK0) == flow_hash);
  }
  return 0;
}
