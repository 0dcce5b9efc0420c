// Per-epoch counts that the coordinator's coverage ledger compares across nodes:
// seen and owned are counted by the selection thread when it classifies a frame, exported
// and dropped by the export workers when the frame's batch leaves (or cannot leave).
// Frames carry their epoch through the queues, so late exports land on the right epoch.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <tuple>
#include <vector>

#include "counter.h"

namespace dicap {

struct EpochCounts {
  uint32_t epoch;
  uint64_t seen, owned, exported, dropped;

  template <typename Self>
  static auto Fields(Self& c) {
    return std::tie(c.seen, c.owned, c.exported, c.dropped);
  }
};

class EpochLedger {
 public:
  // Called by the selection thread when an epoch comes into force, before any frame of it
  // is counted. Slots are reused round-robin; kSlots epochs in flight at once is plenty
  // (a topology lives for seconds, a frame crosses the queues in milliseconds).
  void Open(uint32_t epoch) {
    Slot& s = slots_[epoch % kSlots];
    // The same epoch again (a new coordinator's term resends it) keeps its counts.
    if (s.open.load(std::memory_order_acquire) && s.epoch.load(std::memory_order_acquire) == epoch) return;
    s.seen.Set(0);
    s.owned.Set(0);
    s.exported.Reset();
    s.dropped.Reset();
    s.epoch.store(epoch, std::memory_order_release);
    s.open.store(true, std::memory_order_release);
  }

  // Selection thread only.
  void AddSeen(uint32_t epoch, uint64_t n) { slots_[epoch % kSlots].seen.Add(n); }
  void AddOwned(uint32_t epoch, uint64_t n) { slots_[epoch % kSlots].owned.Add(n); }
  // Any thread.
  void AddExported(uint32_t epoch, uint64_t n) { slots_[epoch % kSlots].exported.Add(n); }
  void AddDropped(uint32_t epoch, uint64_t n) { slots_[epoch % kSlots].dropped.Add(n); }

  // The epochs still held, oldest first.
  std::vector<EpochCounts> Snapshot() const {
    std::vector<EpochCounts> out;
    for (const Slot& s : slots_) {
      if (!s.open.load(std::memory_order_acquire)) continue;
      out.push_back({s.epoch.load(std::memory_order_acquire), s.seen.Get(), s.owned.Get(), s.exported.Get(),
                     s.dropped.Get()});
    }
    std::sort(out.begin(), out.end(),
              [](const EpochCounts& a, const EpochCounts& b) { return a.epoch < b.epoch; });
    return out;
  }

 private:
  static constexpr size_t kSlots = 16;
  struct alignas(kCacheLine) Slot {
    std::atomic<bool> open{false};
    std::atomic<uint32_t> epoch{0};
    SingleWriterCounter seen, owned;  // selection thread only
    SharedCounter exported, dropped;  // any export worker, once per datagram
  };
  std::array<Slot, kSlots> slots_;
};

}  // namespace dicap
