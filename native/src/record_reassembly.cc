#include "record_reassembly.h"

#include <cassert>
#include <cstring>

namespace dicap {

RecordReassembly::~RecordReassembly() {
  // Clear() must have given the bytes back to the budget.
  assert(buffer_ == nullptr);
}

void RecordReassembly::Release(ReassemblyBudget& budget) {
  if (buffer_ != nullptr) {
    budget.Give(record_.cap_len);
    buffer_.reset();
  }
}

bool RecordReassembly::SameRecord(const BatchRecordHeader& r) const {
  return r.ts_sec == record_.ts_sec && r.ts_nsec == record_.ts_nsec && r.wire_len == record_.wire_len &&
         r.cap_len == record_.cap_len;
}

bool RecordReassembly::Continues(const BatchFragment& f, uint64_t seq) const {
  return (state_ == State::kCollecting || state_ == State::kDiscarding) && seq == next_seq_ &&
         f.offset == received_ && SameRecord(f.record);
}

void RecordReassembly::Interrupt(ReassemblyBudget& budget, ReassemblyLosses& losses) {
  if (state_ == State::kCollecting) ++losses.sequence;
  Release(budget);
  state_ = State::kIdle;
}

bool RecordReassembly::Expire(uint64_t now_ns, uint64_t timeout_ns, ReassemblyBudget& budget,
                              ReassemblyLosses& losses) {
  if (state_ == State::kComplete) {
    // Written already (a record is only valid until the sink's next call): free it now, so
    // a stream that falls silent after a large record does not keep it from the budget.
    Release(budget);
    state_ = State::kIdle;
  }
  if (state_ != State::kCollecting || now_ns - started_ns_ < timeout_ns) return false;
  ++losses.timeout;
  Release(budget);
  state_ = State::kIdle;
  return true;
}

bool RecordReassembly::Offer(const BatchFragment& f, uint64_t seq, uint64_t now_ns, ReassemblyBudget& budget,
                             ReassemblyLosses& losses) {
  if (state_ == State::kComplete) {
    Release(budget);
    state_ = State::kIdle;
  }
  if (!Continues(f, seq)) {
    // A piece of the record collected or discarded so far, out of order: that record is
    // counted once, here or before.
    const bool counted =
        (state_ == State::kCollecting || state_ == State::kDiscarding) && SameRecord(f.record);
    if (state_ == State::kCollecting) ++losses.sequence;  // the record being collected broke off
    Release(budget);
    record_ = f.record;
    started_ns_ = now_ns;
    if (f.offset != 0) {
      // Its beginning is gone: count it now (unless just done), and swallow its remaining pieces.
      if (!counted) ++losses.sequence;
      state_ = State::kDiscarding;
    } else if (budget.Take(record_.cap_len)) {
      buffer_.reset(new uint8_t[record_.cap_len]);
      state_ = State::kCollecting;
    } else {
      ++losses.memory;
      state_ = State::kDiscarding;
    }
  }
  if (state_ == State::kCollecting) std::memcpy(buffer_.get() + f.offset, f.bytes, f.length);
  received_ = static_cast<uint32_t>(f.offset + f.length);
  next_seq_ = seq + 1;
  if (received_ < record_.cap_len) return false;
  const bool complete = state_ == State::kCollecting;
  state_ = complete ? State::kComplete : State::kIdle;
  return complete;
}

}  // namespace dicap
