#include "topology.h"

#include <utility>

#include "named_values.h"

namespace dicap {

namespace {

constexpr NamedValue<SelectionMode> kSelectionModeNames[] = {{SelectionMode::kRoundRobin, "round-robin"},
                                                             {SelectionMode::kIpid, "ipid"},
                                                             {SelectionMode::kFlow, "flow"}};

}  // namespace

bool ParseSelectionMode(const std::string& name, SelectionMode* out) {
  return ValueNamed(kSelectionModeNames, name, out);
}

const char* SelectionModeName(SelectionMode mode) {
  return NameOf(kSelectionModeNames, mode, "unknown");
}

Topology::Topology(uint32_t term_, uint32_t epoch_, SelectionMode mode_, std::vector<uint32_t> node_ids_,
                   uint32_t k0_, uint32_t k1_, uint64_t validity_start_ns_,
                   std::vector<AnalyzerAddress> analyzers_, uint32_t snaplen_)
    : term(term_),
      epoch(epoch_),
      mode(mode_),
      node_ids(std::move(node_ids_)),
      k0(k0_),
      k1(k1_),
      validity_start_ns(validity_start_ns_),
      analyzers(std::move(analyzers_)),
      snaplen(snaplen_),
      flow_owners(node_ids, k1_) {}

int Topology::PositionOf(uint32_t node_id) const {
  for (size_t i = 0; i < node_ids.size(); ++i) {
    if (node_ids[i] == node_id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace dicap
