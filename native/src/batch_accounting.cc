#include "batch_accounting.h"

#include <algorithm>
#include <limits>

namespace dicap {

namespace {

constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kEvictionIntervalNs =
    1'000'000'000;  // a full table is searched for silent nodes at most this often

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > kForever - b ? kForever : a + b;
}

}  // namespace

BatchAccounting::~BatchAccounting() {
  for (auto& entry : nodes_) ForgetNode(entry.second);
}

void BatchAccounting::ForgetNode(Node& node) {
  for (auto& entry : node.streams) entry.second.reassembly.Clear(budget_, totals_.reassembly_lost);
}

void BatchAccounting::SetTopologyNodes(const std::vector<uint32_t>& nodes, uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = admitted_until_.begin(); it != admitted_until_.end();) {
    if (it->second == kForever) it->second = now_ns + limits_.topology_grace_ns;
    it = it->second <= now_ns ? admitted_until_.erase(it) : std::next(it);
  }
  for (uint32_t id : nodes) admitted_until_[id] = kForever;
  restricted_ = true;
}

bool BatchAccounting::Admitted(uint32_t node_id, uint64_t now_ns) const {
  if (!restricted_) return true;
  const auto it = admitted_until_.find(node_id);
  return it != admitted_until_.end() && it->second > now_ns;
}

void BatchAccounting::EvictIdleNodes(uint64_t now_ns) {
  if (now_ns - last_eviction_ns_ < kEvictionIntervalNs && last_eviction_ns_ != 0) return;
  last_eviction_ns_ = now_ns;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (now_ns - it->second.last_seen_ns >= limits_.node_idle_ns) {
      ForgetNode(it->second);
      it = nodes_.erase(it);
      ++totals_.nodes_evicted;
    } else {
      ++it;
    }
  }
}

BatchAccounting::Node* BatchAccounting::FindOrAddNode(uint32_t node_id, uint64_t now_ns,
                                                      std::optional<AdmissionReject>* reject) {
  if (!Admitted(node_id, now_ns)) {
    *reject = AdmissionReject::kUnknownNode;
    return nullptr;
  }
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) {
    // With a topology the admitted set bounds the table; without one, max_nodes does.
    if (!restricted_ && nodes_.size() >= limits_.max_nodes) {
      EvictIdleNodes(now_ns);
      if (nodes_.size() >= limits_.max_nodes) {
        *reject = AdmissionReject::kNodeLimit;
        return nullptr;
      }
    }
    it = nodes_.emplace(node_id, Node{}).first;
    it->second.counters.node_id = node_id;
  }
  return &it->second;
}

BatchOutcome BatchAccounting::Account(const HeaderBatchView& view, size_t length, uint64_t now_ns) {
  BatchOutcome outcome;
  std::lock_guard<std::mutex> lock(mutex_);
  Node* node = FindOrAddNode(view.node_id, now_ns, &outcome.reject);
  if (node == nullptr) return outcome;
  node->last_seen_ns = now_ns;
  auto stream_it = node->streams.find(view.stream);
  if (stream_it == node->streams.end()) {
    if (node->streams.size() >= limits_.max_streams_per_node) {
      outcome.reject = AdmissionReject::kStreamLimit;
      return outcome;
    }
    stream_it = node->streams.try_emplace(view.stream).first;
    ++node->counters.streams;
  }
  Stream& stream = stream_it->second;
  NodeCounters& c = node->counters;

  uint64_t gap = 0;
  const SeqVerdict verdict = stream.sequence.Account(view.epoch, view.seq, CaptureSpanOf(view), &gap);
  ++c.datagrams;
  c.bytes += length;
  c.gap_datagrams = SaturatingAdd(c.gap_datagrams, gap);
  const uint64_t good = view.fragment() ? 0 : view.count - view.bad_records;
  switch (verdict) {
    case SeqVerdict::kJump:
      ++c.seq_jumps;
      [[fallthrough]];
    case SeqVerdict::kNewRun:
      ++c.runs;
      stream.reassembly.Interrupt(budget_, totals_.reassembly_lost);
      break;
    case SeqVerdict::kLate:
      ++c.late_datagrams;
      break;
    case SeqVerdict::kDuplicate:
      ++c.duplicate_datagrams;
      c.duplicate_records += good;
      c.records += good;
      totals_.records += good;
      return outcome;  // its records were written when it first came
    case SeqVerdict::kInOrder:
    case SeqVerdict::kGap:
      break;
  }
  if (verdict != SeqVerdict::kLate) c.last_epoch = stream.sequence.epoch();

  if (!view.fragment()) {
    stream.reassembly.Interrupt(budget_, totals_.reassembly_lost);
    c.records += good;
    c.bad_records += view.bad_records;
    totals_.records += good;
    totals_.bad_records += view.bad_records;
    outcome.write_records = good > 0;
    return outcome;
  }
  // A late piece belongs to a record already counted lost when its order broke.
  if (verdict == SeqVerdict::kLate) return outcome;
  if (stream.reassembly.Offer(FragmentOf(view), view.seq, now_ns, budget_, totals_.reassembly_lost)) {
    ++c.records;
    ++totals_.records;
    ++totals_.reassembled_records;
    outcome.whole = stream.reassembly.bytes();
    outcome.whole_record = stream.reassembly.record();
  }
  return outcome;
}

void BatchAccounting::Maintain(uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (budget_.used() == 0) return;  // nothing is being collected
  for (auto& node : nodes_) {
    for (auto& stream : node.second.streams) {
      stream.second.reassembly.Expire(now_ns, limits_.reassembly_timeout_ns, budget_,
                                      totals_.reassembly_lost);
    }
  }
}

std::vector<NodeCounters> BatchAccounting::Nodes() const {
  std::vector<NodeCounters> nodes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    nodes.reserve(nodes_.size());
    for (const auto& entry : nodes_) nodes.push_back(entry.second.counters);
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const NodeCounters& a, const NodeCounters& b) { return a.node_id < b.node_id; });
  return nodes;
}

AccountingTotals BatchAccounting::Totals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  AccountingTotals totals = totals_;
  totals.reassembly_bytes = budget_.used();
  return totals;
}

}  // namespace dicap
