// The header-batch sequence of one (node, stream), as one analyzer sees it (SPEC.md §6.1):
// in order, gaps (export loss), late arrivals that fill a gap, duplicates, sender restarts
// and absurd jumps. The arithmetic keeps the highest seq seen, never seq + 1, so no value of
// the 64-bit seq overflows it, and a gap is counted only when it is plausible (§6.5).
// A seq already passed is told apart from a restarted sender by when its frames were
// captured (§6.1 c): a copy carries frames the stream delivered before, a restarted sender
// frames captured after all of them.
#pragma once

#include <array>
#include <cstdint>

#include "header_batch.h"

namespace dicap {

enum class SeqVerdict {
  kInOrder,    // the expected seq
  kNewRun,     // the first datagram seen, or the sender restarted (its frames captured after all before)
  kGap,        // later than expected: the datagrams in between are counted as a gap
  kJump,       // more than kMaxGap ahead: taken as a new run, not as that many lost datagrams
  kLate,       // arrived after a later one, filling a gap counted before
  kDuplicate,  // seen before, or too old to tell
};

class StreamSequence {
 public:
  // Window of recent seqs in which a late arrival is told apart from a duplicate.
  static constexpr uint64_t kWindow = 1024;
  // The largest forward step still read as loss: 2^20 datagrams is about 1.5 GB of
  // export lost on one stream. A larger step comes from a sender that restarted with
  // another counter, or from a forger; counting it as loss would swamp every total.
  static constexpr uint64_t kMaxGap = uint64_t{1} << 20;

  // `gap` receives how many datagrams this one reveals as missing (kGap; kNewRun of a
  // restarted sender whose first datagrams did not arrive), else 0. Never more than kMaxGap.
  // `captured` is when the datagram's frames were captured (CaptureSpanOf).
  SeqVerdict Account(uint32_t epoch, uint64_t seq, const CaptureSpan& captured, uint64_t* gap);
  uint32_t epoch() const { return epoch_; }

 private:
  void StartRun(uint32_t epoch, uint64_t seq, const CaptureSpan& captured);
  bool Restarted(uint32_t epoch, uint64_t seq, const CaptureSpan& captured) const;
  void NoteCapture(const CaptureSpan& captured);
  void MarkMissing(uint64_t from, uint64_t to);  // [from, to)
  bool Missing(uint64_t seq) const { return (missing_[(seq % kWindow) / 64] >> (seq % 64)) & 1; }
  void SetMissing(uint64_t seq, bool missing);

  bool started_ = false;
  uint32_t epoch_ = 0;     // epoch of the highest seq
  uint64_t last_ = 0;      // highest seq seen
  CaptureSpan delivered_;  // the frames the run delivered (only its newest is read)
  // Bit (seq % kWindow) for seq in (last_ - kWindow, last_]: counted in a gap and not yet arrived.
  std::array<uint64_t, kWindow / 64> missing_{};
};

}  // namespace dicap
