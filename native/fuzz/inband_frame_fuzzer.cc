// libFuzzer target: the Selector (selector.h) on a sequence of frames, in-band topology
// frames among them: recognition of EtherType 0x88B5, the control decoder behind it, the
// adoption of an in-band topology (Topology, FlowOwnerTable) and the per-frame owner
// decision in every mode that a topology can bring.
//
// Input: byte 0 picks this node's ID (11, 22 or 33, as in SPEC §5); then frames, each
// as flags (u8), length (u16, big-endian) and that many bytes. Flags bit 0: an in-band
// frame: EtherType 0x88B5 is set and its message is signed (sign_control_message.h) so it
// passes the MAC; bit 1: the frame carried a VLAN tag. Frame k is stamped 1795000000 s
// (the spec vector's TIMESTAMP) plus k ms, so the spec's frame is fresh.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "frame_key.h"
#include "selector.h"
#include "sign_control_message.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

constexpr uint64_t kFirstFrameNs = 1795000000ull * 1000000000ull;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint32_t node_id = 11u * (1 + data[0] % 3);
  dicap::Selector selector(node_id, dicap::fuzz::FuzzClusterKey());
  uint64_t adopted = 0;
  uint64_t control_frames = 0;
  selector.OnAdopt([&](const dicap::TopologyPtr& topology, bool inband) {
    Require(inband && topology != nullptr && topology->node_count() > 0);
    ++adopted;
  });
  size_t at = 1;
  for (uint64_t k = 0; at + 3 <= size; ++k) {
    const uint8_t flags = data[at];
    const size_t declared = size_t{data[at + 1]} << 8 | data[at + 2];
    at += 3;
    const size_t len = declared < size - at ? declared : size - at;
    std::vector<uint8_t> frame(data + at, data + at + len);
    at += len;
    if ((flags & 1) && frame.size() >= dicap::kEthernetHeaderLen) {
      frame[12] = dicap::kInbandEthertype >> 8;
      frame[13] = dicap::kInbandEthertype & 0xFF;
      std::vector<uint8_t> message(frame.begin() + dicap::kEthernetHeaderLen, frame.end());
      dicap::fuzz::SignControlMessage(&message);
      frame.resize(dicap::kEthernetHeaderLen);
      frame.insert(frame.end(), message.begin(), message.end());
    }
    // An exactly sized copy, so AddressSanitizer sees a read past the frame.
    const dicap::Classification c =
        selector.Classify(frame.empty() ? nullptr : frame.data(), static_cast<uint32_t>(frame.size()),
                          kFirstFrameNs + k * 1000000ull, (flags & 2) != 0);
    const dicap::TopologyPtr& current = selector.current();
    if (c.control) {
      ++control_frames;
      Require(c.position == -1);
    } else if (current == nullptr) {
      Require(c.position == -1);
    } else {
      Require(c.position >= 0 && static_cast<uint32_t>(c.position) < current->node_count());
    }
  }
  const dicap::InbandCounters counters = selector.inband_counters();
  // Every control frame is counted as accepted; a topology announced with a token (SPEC
  // §6.10) is accepted twice (announce, switch) and adopted once, or only staged.
  Require(counters.accepted == control_frames && adopted <= control_frames);
  return 0;
}
