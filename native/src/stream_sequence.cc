#include "stream_sequence.h"

namespace dicap {

void StreamSequence::SetMissing(uint64_t seq, bool missing) {
  uint64_t& word = missing_[(seq % kWindow) / 64];
  const uint64_t bit = uint64_t{1} << (seq % 64);
  word = missing ? (word | bit) : (word & ~bit);
}

void StreamSequence::MarkMissing(uint64_t from, uint64_t to) {
  // Only the newest of them fit: the window is (to - kWindow, to], and `to` (the seq that
  // revealed them) shares its bit with to - kWindow, which must stay clear or a duplicate of
  // `to` would read as late. Older ones stay counted but can no longer be told apart from
  // duplicates if they ever arrive.
  if (to - from > kWindow - 1) from = to - (kWindow - 1);
  for (uint64_t seq = from; seq < to; ++seq) SetMissing(seq, true);
}

void StreamSequence::StartRun(uint32_t epoch, uint64_t seq) {
  started_ = true;
  epoch_ = epoch;
  last_ = seq;
  missing_.fill(0);
}

SeqVerdict StreamSequence::Account(uint32_t epoch, uint64_t seq, uint64_t* gap) {
  *gap = 0;
  if (!started_) {
    // Whatever the sender sent before we listened is not ours to count.
    StartRun(epoch, seq);
    return SeqVerdict::kNewRun;
  }
  if (seq > last_) {
    const uint64_t skipped = seq - last_ - 1;  // seq > last_: no overflow
    if (skipped > kMaxGap) {
      StartRun(epoch, seq);
      return SeqVerdict::kJump;
    }
    MarkMissing(last_ + 1, seq);
    SetMissing(seq, false);
    last_ = seq;
    epoch_ = epoch;
    *gap = skipped;
    return skipped == 0 ? SeqVerdict::kInOrder : SeqVerdict::kGap;
  }
  if (last_ - seq < kWindow && Missing(seq)) {
    SetMissing(seq, false);
    return SeqVerdict::kLate;
  }
  if (seq == 0 || epoch != epoch_) {
    // The sender restarted: seq 0 again (a duplicate of a run's seq 0 cannot be told from
    // a restart), or a new epoch with a lower seq, meaning its first datagrams were lost.
    StartRun(epoch, seq);
    if (seq > kMaxGap) return SeqVerdict::kJump;
    *gap = seq;
    MarkMissing(0, seq);
    return SeqVerdict::kNewRun;
  }
  return SeqVerdict::kDuplicate;
}

}  // namespace dicap
