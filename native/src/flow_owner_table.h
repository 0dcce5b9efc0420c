// Flow-mode owner lookup (SPEC.md §4 "flow"): a frame's bucket (flow_hash & 4095) maps
// to a node by rendezvous hashing over the topology's node IDs. That mapping depends only
// on the topology, so it is computed once per topology into a 4096-entry table (8 KiB) and
// the per-frame lookup is a single array read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dicap {

class FlowOwnerTable {
 public:
  static constexpr uint32_t kBuckets = 4096;
  // Largest topology a table can describe: positions are stored as uint16_t.
  static constexpr size_t kMaxNodes = 65536;

  // node_ids in topology order (position k holds the k-th NODE_ID); 1..kMaxNodes of them,
  // else std::invalid_argument (a decoded TOPOLOGY_UPDATE always satisfies this). Costs
  // 4096 * N hash evaluations: build it when a topology arrives, not on the packet path.
  FlowOwnerTable(const std::vector<uint32_t>& node_ids, uint32_t k1);

  // Position (index into node_ids) of the owner of `bucket`. Only the low 12 bits of
  // `bucket` are used, so any value is safe.
  uint16_t PositionOfBucket(uint32_t bucket) const { return positions_[bucket & (kBuckets - 1)]; }

  // Position of the owner of a frame with this flow_hash (its bucket is flow_hash & 4095).
  uint16_t PositionOfHash(uint32_t flow_hash) const { return PositionOfBucket(flow_hash); }

 private:
  std::array<uint16_t, kBuckets> positions_;
};

}  // namespace dicap
