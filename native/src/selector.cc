#include "selector.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "control_message.h"
#include "frame_key.h"

namespace dicap {

namespace {

SelectionMode ModeOfSelectionType(uint8_t type) {
  switch (type) {
    case kSelectionRoundRobin:
      return SelectionMode::kRoundRobin;
    case kSelectionIpid:
      return SelectionMode::kIpid;
    default:
      return SelectionMode::kFlow;
  }
}

bool IsNewer(const TopologyUpdate& update, const TopologyPtr& current) {
  if (current == nullptr) return true;
  if (update.term != current->term) return update.term > current->term;
  return update.epoch > current->epoch;
}

}  // namespace

Selector::Selector(uint32_t node_id, std::vector<uint8_t> cluster_key)
    : node_id_(node_id), cluster_key_(std::move(cluster_key)) {}

void Selector::Offer(TopologyPtr topology) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  auto later = std::find_if(pending_.begin(), pending_.end(), [&](const TopologyPtr& p) {
    return std::tie(p->term, p->epoch) > std::tie(topology->term, topology->epoch);
  });
  pending_.insert(later, std::move(topology));
  has_pending_.store(true, std::memory_order_release);
}

void Selector::Adopt(TopologyPtr topology, bool inband) {
  current_ = std::move(topology);
  position_ = current_->PositionOf(node_id_);
  round_robin_counter_ = 0;
  if (on_adopt_) on_adopt_(current_, inband);
}

void Selector::AdoptPendingIfDue(uint64_t ts_ns) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  while (!pending_.empty() && ts_ns >= pending_.front()->validity_start_ns) {
    TopologyPtr topology = std::move(pending_.front());
    pending_.erase(pending_.begin());
    const bool newer = current_ == nullptr ||
                       std::tie(topology->term, topology->epoch) > std::tie(current_->term, current_->epoch);
    if (newer) Adopt(std::move(topology), false);
  }
  has_pending_.store(!pending_.empty(), std::memory_order_release);
}

void Selector::Stage(TopologyPtr topology, uint64_t token) {
  if (kernel_ != nullptr) {
    kernel_->Stage(std::move(topology), token);
    return;
  }
  std::lock_guard<std::mutex> lock(staged_mutex_);
  for (const auto& staged : staged_) {
    if (staged.first == token) return;  // the same topology resent
  }
  if (staged_.size() == kMaxStaged) staged_.erase(staged_.begin());
  staged_.emplace_back(token, std::move(topology));
}

TopologyPtr Selector::TakeStaged(uint64_t token) {
  if (kernel_ != nullptr) return kernel_->TakeSwitched();
  if (token == 0) return nullptr;
  std::lock_guard<std::mutex> lock(staged_mutex_);
  for (auto it = staged_.begin(); it != staged_.end(); ++it) {
    if (it->first != token) continue;
    TopologyPtr topology = std::move(it->second);
    staged_.erase(it);  // spent: a replayed switch frame finds nothing
    return topology;
  }
  return nullptr;
}

bool Selector::TryInband(const uint8_t* frame, uint32_t len, uint64_t ts_ns) {
  const uint8_t* message = frame + kEthernetHeaderLen;
  const size_t message_len = len - kEthernetHeaderLen;
  // A switch frame (SPEC §6.10): its token, not its MAC, is the authority, as in the kernel,
  // which has judged this frame before it reached us.
  if (TopologyPtr switched = TakeStaged(InbandToken(message, message_len))) {
    Adopt(std::move(switched), true);
    inband_accepted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  TopologyUpdate update;
  // Freshness is judged against the frame's own timestamp, so every node reaches the
  // same verdict for the same frame whatever its clock says (protocol/SPEC.md).
  const bool authentic = DecodeInbandTopology(message, message_len, cluster_key_.data(), cluster_key_.size(),
                                              &update) == ControlError::kNone &&
                         IsTimestampFresh(update.timestamp, ts_ns / 1000000000ull) &&
                         IsNewer(update, current_) && !update.node_ids.empty();
  // Without a token only user space can follow it: the kernel's copy would not switch.
  if (!authentic || (kernel_ != nullptr && update.token == 0)) {
    inband_rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::vector<AnalyzerAddress> analyzers;
  // In force from this frame on: the frame's time is its validity start, which the other
  // capture threads of the engine adopt it by (engine.h).
  for (const auto& analyzer : update.analyzers) analyzers.push_back({analyzer.first, analyzer.second});
  auto topology = std::make_shared<const Topology>(
      update.term, update.epoch, ModeOfSelectionType(update.selection_type), std::move(update.node_ids),
      update.k0, update.k1, ts_ns, std::move(analyzers), update.snaplen);
  inband_accepted_.fetch_add(1, std::memory_order_relaxed);
  if (update.token != 0) {
    // Announced: in force at its switch frame, the next in-band frame with this token.
    Stage(std::move(topology), update.token);
  } else {
    Adopt(std::move(topology), true);
  }
  return true;
}

Classification Selector::Classify(const uint8_t* frame, uint32_t len, uint64_t ts_ns, bool tagged) {
  if (has_pending_.load(std::memory_order_acquire)) AdoptPendingIfDue(ts_ns);

  const bool inband = !tagged && len >= kEthernetHeaderLen && frame[12] == (kInbandEthertype >> 8) &&
                      frame[13] == (kInbandEthertype & 0xFF);
  if (inband && TryInband(frame, len, ts_ns)) return {true, -1, 0, false};
  if (current_ == nullptr) return {false, -1, 0, false};

  const Topology& topology = *current_;
  const uint32_t n = topology.node_count();
  if (topology.mode == SelectionMode::kRoundRobin) {
    // In-band frames are outside C (SPEC §6.10): the kernel cannot tell a rejected one from
    // an accepted one, so no node counts either; one that is traffic belongs to position 0.
    if (inband) return {false, 0, 0, false};
    // Behind the kernel's selection only this node's frames arrive: the kernel counted C.
    if (kernel_ != nullptr) return {false, position_, 0, false};
    // Every traffic frame advances the counter, whatever its length or type (docs/DESIGN.md);
    // a runt still belongs to position 0 as in every mode (SPEC.md §4).
    const int32_t position = len < kEthernetHeaderLen ? 0 : static_cast<int32_t>(round_robin_counter_ % n);
    ++round_robin_counter_;
    return {false, position, 0, false};
  }
  if (len < kEthernetHeaderLen) return {false, 0, 0, false};
  const FrameKey key = ParseFrameKey(frame, len);
  const uint32_t flow_hash = FlowHash(key, topology.k0);
  int32_t position;
  if (topology.mode == SelectionMode::kFlow) {
    position = topology.flow_owners.PositionOfHash(flow_hash);
  } else {
    const uint32_t hash = key.has_ipv4_id ? IpidHash(key.ipv4_id, topology.k0) : flow_hash;
    position = static_cast<int32_t>(hash % n);
  }
  if (key.has_ipv4_id && position == position_) ipid_owned_[key.ipv4_id >> 8].Increment();
  return {false, position, flow_hash, true};
}

uint32_t Selector::FlowHashOf(const uint8_t* frame, uint32_t len) const {
  return FlowHash(ParseFrameKey(frame, len), current_ ? current_->k0 : 0);
}

InbandCounters Selector::inband_counters() const {
  return {inband_accepted_.load(std::memory_order_relaxed), inband_rejected_.load(std::memory_order_relaxed)};
}

IpidHistogram Selector::ipid_histogram() const {
  IpidHistogram bins{};
  for (size_t i = 0; i < kIpidBins; ++i) bins[i] = ipid_owned_[i].Get();
  return bins;
}

}  // namespace dicap
