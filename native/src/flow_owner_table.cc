// Rendezvous (highest-random-weight) hashing: each bucket goes to the node with the largest
// score, so adding or removing one node moves only the buckets that node wins or held
// (about 1/N of them) and every other bucket keeps its owner.
#include "flow_owner_table.h"

#include <stdexcept>
#include <string>

#include "frame_key.h"

namespace dicap {
namespace {

constexpr uint32_t kGoldenRatio32 = 0x9E3779B1u;

inline uint32_t RendezvousScore(uint32_t bucket, uint32_t node_id, uint32_t k1) {
  return Fmix32((bucket * kGoldenRatio32) ^ node_id ^ k1);
}

}  // namespace

FlowOwnerTable::FlowOwnerTable(const std::vector<uint32_t>& node_ids, uint32_t k1) {
  if (node_ids.empty() || node_ids.size() > kMaxNodes) {
    throw std::invalid_argument("FlowOwnerTable needs 1.." + std::to_string(kMaxNodes) + " node IDs, got " +
                                std::to_string(node_ids.size()));
  }
  for (uint32_t bucket = 0; bucket < kBuckets; ++bucket) {
    size_t best = 0;
    uint32_t best_score = RendezvousScore(bucket, node_ids[0], k1);
    for (size_t i = 1; i < node_ids.size(); ++i) {
      const uint32_t score = RendezvousScore(bucket, node_ids[i], k1);
      // Equal scores go to the lower node ID (not the lower position), so the owner does
      // not depend on the order in which the coordinator lists the nodes.
      if (score > best_score || (score == best_score && node_ids[i] < node_ids[best])) {
        best = i;
        best_score = score;
      }
    }
    positions_[bucket] = static_cast<uint16_t>(best);
  }
}

}  // namespace dicap
