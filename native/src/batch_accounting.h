// What an accepted header batch means to the analyzer: whether its node may send here (the
// topology's nodes, or a bounded table of any nodes that expires), the sequence of its
// (node, stream), the reassembly of records split over datagrams, and the per-node
// counters. Every table a sender can grow is bounded (issue 11: 20,000 spoofed node IDs
// must not grow the analyzer). The sink thread calls Account/Maintain; any thread reads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "header_batch.h"
#include "record_reassembly.h"
#include "stream_sequence.h"

namespace dicap {

struct AccountingLimits {
  size_t max_nodes = 1024;  // without a topology: nodes with state at once
  size_t max_streams_per_node = 1024;
  uint64_t node_idle_ns =
      60'000'000'000;  // without a topology: a silent node's state may be reused after this
  uint64_t topology_grace_ns =
      10'000'000'000;  // a node dropped from the topology is still accepted this long
  size_t reassembly_bytes = 64u << 20;
  uint64_t reassembly_timeout_ns = 1'000'000'000;
};

// Why an authentic, well-formed datagram is not accepted (the sink adds the MAC reasons).
enum class AdmissionReject : int { kUnknownNode, kNodeLimit, kStreamLimit };

struct NodeCounters {
  uint32_t node_id = 0;
  uint32_t last_epoch = 0;           // epoch of the node's most recent datagram in sequence
  uint32_t streams = 0;              // distinct streams seen
  uint64_t datagrams = 0;            // valid datagrams, duplicates included
  uint64_t records = 0;              // good records in them (a split record counts once, when whole)
  uint64_t bytes = 0;                // UDP payload bytes of them
  uint64_t bad_records = 0;          // records skipped: ts_nsec ≥ 10⁹ or cap_len > wire_len
  uint64_t gap_datagrams = 0;        // seqs skipped (export loss, until they arrive late)
  uint64_t late_datagrams = 0;       // arrived after being counted in a gap (written)
  uint64_t duplicate_datagrams = 0;  // seen before or too old to tell (not written)
  uint64_t duplicate_records = 0;
  uint64_t runs = 0;       // sequence starts: first datagram seen, sender restarts, jumps
  uint64_t seq_jumps = 0;  // of them, seqs more than StreamSequence::kMaxGap ahead
};

struct AccountingTotals {
  uint64_t records = 0;  // Σ records over all datagrams, also of nodes no longer in the table
  uint64_t bad_records = 0;
  uint64_t reassembled_records = 0;
  ReassemblyLosses reassembly_lost;
  uint64_t reassembly_bytes = 0;  // held now
  uint64_t nodes_evicted = 0;     // silent nodes forgotten to make room (no topology)
};

struct BatchOutcome {
  std::optional<AdmissionReject> reject;
  bool write_records = false;      // write the datagram's good records
  const uint8_t* whole = nullptr;  // a reassembled record to write (valid until the next Account)
  BatchRecordHeader whole_record{};
};

class BatchAccounting {
 public:
  explicit BatchAccounting(const AccountingLimits& limits)
      : limits_(limits), budget_(limits.reassembly_bytes) {}
  ~BatchAccounting();

  // Any thread: accept only these nodes from now on (nodes dropped since the last call for
  // topology_grace_ns more). Until the first call, any node is accepted (bounded table).
  void SetTopologyNodes(const std::vector<uint32_t>& nodes, uint64_t now_ns);

  // Sink thread: one datagram ReadHeaderBatch accepted (and, with a key, authenticated).
  // `length`: the datagram's size in bytes.
  BatchOutcome Account(const HeaderBatchView& view, size_t length, uint64_t now_ns);
  // Sink thread, now and then: gives up records whose pieces stopped coming.
  void Maintain(uint64_t now_ns);

  std::vector<NodeCounters> Nodes() const;  // by node ID
  AccountingTotals Totals() const;

 private:
  struct Stream {
    StreamSequence sequence;
    RecordReassembly reassembly;
  };
  struct Node {
    NodeCounters counters;
    uint64_t last_seen_ns = 0;
    std::unordered_map<uint16_t, Stream> streams;
  };

  bool Admitted(uint32_t node_id, uint64_t now_ns) const;
  Node* FindOrAddNode(uint32_t node_id, uint64_t now_ns, std::optional<AdmissionReject>* reject);
  void EvictIdleNodes(uint64_t now_ns);
  void ForgetNode(Node& node);

  const AccountingLimits limits_;
  mutable std::mutex mutex_;
  bool restricted_ = false;
  std::unordered_map<uint32_t, uint64_t>
      admitted_until_;  // node → end of its admission (UINT64_MAX: in the topology)
  std::unordered_map<uint32_t, Node> nodes_;
  uint64_t last_eviction_ns_ = 0;
  ReassemblyBudget budget_;
  AccountingTotals totals_;
};

}  // namespace dicap
