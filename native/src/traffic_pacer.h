// Token bucket for `dicap gen --rate PPS`: frame j of a run is due at start + j/rate, and
// the sender takes every frame that is due, in batches. Exact in the long run (due times
// are computed from the frame index, so no rounding error accumulates), and accurate at
// high rates: the thread sleeps with clock_nanosleep until shortly before the next batch
// is due and spins for the rest, since a sleep alone wakes tens of microseconds late.
//
// The bucket holds kBurstNs worth of frames: after a stall shorter than that (the thread
// descheduled, a slow send) the missed frames go out at once and the average rate holds;
// frames missed beyond that are not made up, so the achieved rate then falls below the
// requested one, which the generator's counters show.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "monotonic_clock.h"

namespace dicap {

class Pacer {
 public:
  static constexpr uint64_t kBurstNs = 20000000;  // 20 ms
  static constexpr uint64_t kSpinNs = 10000;      // sleep until this long before a batch is due
  static constexpr uint64_t kBatchNs = 100000;    // frames per batch: those due within 100 µs

  // rate: frames per second (>= 1). max_batch: largest batch the caller sends.
  Pacer(uint64_t rate, uint32_t max_batch)
      : rate_(rate),
        batch_(static_cast<uint32_t>(std::clamp<uint64_t>(rate * kBatchNs / 1000000000ull, 1, max_batch))),
        burst_(std::max<uint64_t>(batch_, rate * kBurstNs / 1000000000ull)) {}

  uint32_t batch() const { return batch_; }

  void Start(uint64_t now_ns) {
    base_ns_ = now_ns;
    index_ = 0;
  }

  // Waits until a batch is due and returns how many frames may go now (1..batch), or 0
  // when `stop` became true while waiting.
  uint32_t Acquire(const std::atomic<bool>& stop) {
    const uint64_t due = DueNs(index_ + batch_ - 1);
    uint64_t now = MonotonicNs();
    while (now < due) {
      if (stop.load(std::memory_order_relaxed)) return 0;
      if (due - now > kSpinNs) {
        const uint64_t wake = due - kSpinNs;
        const timespec at{static_cast<time_t>(wake / 1000000000ull), static_cast<long>(wake % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
      }
      now = MonotonicNs();
    }
    // Frames due by now, at most a full bucket: drop the credit of a longer stall.
    uint64_t ready = Ready(now);
    if (ready > burst_) {
      base_ns_ = now - kBurstNs;
      index_ = 0;
      ready = Ready(now);
    }
    return static_cast<uint32_t>(std::min<uint64_t>(ready, batch_));
  }

  // The caller sent `n` of the frames Acquire allowed.
  void Took(uint32_t n) { index_ += n; }

 private:
  // Rounded up: at its due time a frame must count as ready (Ready rounds down). Rounding
  // down here made Acquire return 0 — read as "stop" — at rates like 3000/s where 1e9/rate
  // is not a whole number of nanoseconds.
  uint64_t DueNs(uint64_t index) const {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(index) * 1000000000ull;
    return base_ns_ + static_cast<uint64_t>((scaled + rate_ - 1) / rate_);
  }
  // Frames whose due time has come, not yet taken.
  uint64_t Ready(uint64_t now) const {
    const uint64_t due_by_now =
        static_cast<uint64_t>(static_cast<unsigned __int128>(now - base_ns_) * rate_ / 1000000000ull) + 1;
    return due_by_now > index_ ? due_by_now - index_ : 0;
  }

  const uint64_t rate_;
  const uint32_t batch_;
  const uint64_t burst_;  // frames
  uint64_t base_ns_ = 0;
  uint64_t index_ = 0;  // frames taken since base_ns_
};

}  // namespace dicap
