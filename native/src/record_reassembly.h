// Puts a record that was split over several header-batch datagrams back together
// (SPEC.md §6.5, fragments). One instance per (node, stream): the pieces of a record come in
// consecutive seqs with increasing offsets, so only one record is collected at a time. A
// record whose pieces do not all arrive in order, or in time, is counted lost exactly once.
// Memory is bounded by a budget shared by every stream of the analyzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "header_batch.h"

namespace dicap {

// Bytes of partly received records, shared by all streams.
class ReassemblyBudget {
 public:
  explicit ReassemblyBudget(size_t max_bytes) : max_(max_bytes) {}
  bool Take(size_t n) {
    if (n > max_ - used_) return false;
    used_ += n;
    return true;
  }
  void Give(size_t n) { used_ -= n; }
  size_t used() const { return used_; }

 private:
  const size_t max_;
  size_t used_ = 0;
};

// Records given up, by why: the counts of an analyzer (summed over streams).
struct ReassemblyLosses {
  uint64_t sequence = 0;  // a piece missing or out of order (its datagram lost, late or reordered)
  uint64_t timeout = 0;   // the rest did not come within the timeout
  uint64_t memory = 0;    // the reassembly budget was spent when its first piece came
};

class RecordReassembly {
 public:
  RecordReassembly() = default;
  RecordReassembly(const RecordReassembly&) = delete;
  RecordReassembly& operator=(const RecordReassembly&) = delete;
  ~RecordReassembly();

  // Offers the next fragment of this stream (not duplicates, not late ones: their record was
  // counted when its order broke). True when it completed a record: record() and bytes()
  // hold it until the next call.
  bool Offer(const BatchFragment& fragment, uint64_t seq, uint64_t now_ns, ReassemblyBudget& budget,
             ReassemblyLosses& losses);
  // A whole-record datagram or a sender restart: a record being collected is lost.
  void Interrupt(ReassemblyBudget& budget, ReassemblyLosses& losses);
  // Gives up a record collected for longer than `timeout_ns` (true when one was given up),
  // and frees a completed one.
  bool Expire(uint64_t now_ns, uint64_t timeout_ns, ReassemblyBudget& budget, ReassemblyLosses& losses);
  // Frees what it holds (the stream is forgotten); counts a record being collected as lost.
  void Clear(ReassemblyBudget& budget, ReassemblyLosses& losses) { Interrupt(budget, losses); }

  bool collecting() const { return state_ == State::kCollecting; }
  const BatchRecordHeader& record() const { return record_; }
  const uint8_t* bytes() const { return buffer_.get(); }

 private:
  enum class State {
    kIdle,
    kCollecting,  // pieces so far arrived in order
    kDiscarding,  // the record is already counted lost: swallow its remaining pieces
    kComplete,    // record() and bytes() hold a whole record until the next call
  };
  void Release(ReassemblyBudget& budget);
  bool SameRecord(const BatchRecordHeader& record) const;
  bool Continues(const BatchFragment& fragment, uint64_t seq) const;

  State state_ = State::kIdle;
  BatchRecordHeader record_{};
  uint32_t received_ = 0;  // bytes of the record received in order
  uint64_t next_seq_ = 0;  // the seq its next piece must have
  uint64_t started_ns_ = 0;
  std::unique_ptr<uint8_t[]> buffer_;  // record_.cap_len bytes, taken from the budget
};

}  // namespace dicap
