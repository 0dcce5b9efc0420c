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

void StreamSequence::StartRun(uint32_t epoch, uint64_t seq, const CaptureSpan& captured) {
  started_ = true;
  epoch_ = epoch;
  last_ = seq;
  missing_.fill(0);
  delivered_ = captured;
}

bool StreamSequence::Restarted(uint32_t epoch, uint64_t seq, const CaptureSpan& captured) const {
  // Frames captured after every frame of the run: no copy of an earlier datagram holds
  // those, so the sender started again and its first datagrams (seqs below this) were lost.
  // A copy, or a replay of a signed datagram, holds frames the run delivered already.
  if (captured.any && delivered_.any) return captured.oldest_ns > delivered_.newest_ns;
  // Without frames to go by: seq 0 again, or a new epoch with a lower seq.
  return seq == 0 || epoch != epoch_;
}

SeqVerdict StreamSequence::Account(uint32_t epoch, uint64_t seq, const CaptureSpan& captured, uint64_t* gap) {
  *gap = 0;
  if (!started_) {
    // Whatever the sender sent before we listened is not ours to count.
    StartRun(epoch, seq, captured);
    return SeqVerdict::kNewRun;
  }
  if (seq > last_) {
    const uint64_t skipped = seq - last_ - 1;  // seq > last_: no overflow
    if (skipped > kMaxGap) {
      StartRun(epoch, seq, captured);
      return SeqVerdict::kJump;
    }
    MarkMissing(last_ + 1, seq);
    SetMissing(seq, false);
    last_ = seq;
    epoch_ = epoch;
    NoteCapture(captured);
    *gap = skipped;
    return skipped == 0 ? SeqVerdict::kInOrder : SeqVerdict::kGap;
  }
  if (last_ - seq < kWindow && Missing(seq)) {
    SetMissing(seq, false);
    NoteCapture(captured);
    return SeqVerdict::kLate;
  }
  if (Restarted(epoch, seq, captured)) {
    StartRun(epoch, seq, captured);
    if (seq > kMaxGap) return SeqVerdict::kJump;
    *gap = seq;
    MarkMissing(0, seq);
    return SeqVerdict::kNewRun;
  }
  return SeqVerdict::kDuplicate;
}

void StreamSequence::NoteCapture(const CaptureSpan& captured) {
  if (captured.any) delivered_.Include(captured.newest_ns);
}

}  // namespace dicap
