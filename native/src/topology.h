// One topology: who the nodes are, how frames are split among them, and where the
// headers go. Immutable once built; the engine swaps whole topologies (by epoch) so
// the packet path never sees a half-updated one.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flow_owner_table.h"

namespace dicap {

// SELECTION_TYPE values of SPEC.md §1.
enum class SelectionMode : uint8_t { kRoundRobin = 1, kIpid = 2, kFlow = 3 };

bool ParseSelectionMode(const std::string& name, SelectionMode* out);
const char* SelectionModeName(SelectionMode mode);

struct AnalyzerAddress {
  uint32_t ip;    // host byte order
  uint16_t port;  // host byte order
  bool operator==(const AnalyzerAddress& o) const { return ip == o.ip && port == o.port; }
};

struct Topology {
  uint32_t term = 0;
  uint32_t epoch = 0;
  SelectionMode mode = SelectionMode::kFlow;
  std::vector<uint32_t> node_ids;  // ordered: the k-th ID has position k
  uint32_t k0 = 0, k1 = 0;
  uint64_t validity_start_ns = 0;  // 0: in force as soon as it is offered
  std::vector<AnalyzerAddress> analyzers;
  uint32_t snaplen = 0;        // 0: keep the engine's configured snaplen
  FlowOwnerTable flow_owners;  // derived from node_ids and k1

  Topology(uint32_t term_, uint32_t epoch_, SelectionMode mode_, std::vector<uint32_t> node_ids_,
           uint32_t k0_, uint32_t k1_, uint64_t validity_start_ns_, std::vector<AnalyzerAddress> analyzers_,
           uint32_t snaplen_);

  // Position of `node_id` in node_ids, or -1 when this node is not a member (it then owns nothing).
  int PositionOf(uint32_t node_id) const;
  uint32_t node_count() const { return static_cast<uint32_t>(node_ids.size()); }
};

using TopologyPtr = std::shared_ptr<const Topology>;

}  // namespace dicap
