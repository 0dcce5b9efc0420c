// --reorder-ms: merges the frames of all nodes into time-stamp order within a window. Each
// frame is held (copied) until a frame at least `window` newer has arrived, or until no frame
// at all has arrived for `window` (an idle link must not hold frames back). A frame older
// than the last one released cannot be put in order any more: it is let through at once and
// counted late. Held bytes are bounded (max_bytes): over the bound the oldest go out early.
// Sink thread only, except the counters.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "counter.h"
#include "pcap_writer.h"

namespace dicap {

class ReorderWindow {
 public:
  using Emit = std::function<void(const OutputFrame&)>;

  ReorderWindow(uint64_t window_ns, size_t max_bytes, Emit emit)
      : window_ns_(window_ns), max_bytes_(max_bytes), emit_(std::move(emit)) {}

  // Holds the frame, or emits it at once when it is too late to be put in order.
  void Add(const OutputFrame& frame, uint64_t now_ns);
  // Emits every frame that is due; returns the monotonic time of the next release, or
  // UINT64_MAX when nothing is held.
  uint64_t Release(uint64_t now_ns);
  void ReleaseAll();

  // Any thread.
  uint64_t late_records() const { return late_.Get(); }
  uint64_t held_records() const { return held_count_.Get(); }

 private:
  struct Held {
    uint64_t ts_ns;
    uint64_t order;  // arrival order: equal time stamps keep it
    OutputFrame frame;
    std::vector<uint8_t> bytes;
  };
  static bool Later(const Held& a, const Held& b) {
    return a.ts_ns != b.ts_ns ? a.ts_ns > b.ts_ns : a.order > b.order;
  }
  void EmitOldest();

  const uint64_t window_ns_;
  const size_t max_bytes_;
  const Emit emit_;
  std::vector<Held> heap_;  // min-heap by (ts_ns, order)
  size_t held_bytes_ = 0;
  uint64_t order_ = 0;
  uint64_t newest_ts_ns_ = 0;
  uint64_t released_ts_ns_ = 0;  // time stamp of the last frame released in order
  uint64_t last_arrival_ns_ = 0;
  SingleWriterCounter late_;
  SingleWriterCounter held_count_;
};

}  // namespace dicap
