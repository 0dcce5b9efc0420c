#include "reorder_window.h"

#include <algorithm>

namespace dicap {

namespace {

uint64_t TimestampNs(const OutputFrame& f) {
  return uint64_t{f.ts_sec} * 1000000000u + f.ts_nsec;
}

}  // namespace

void ReorderWindow::Add(const OutputFrame& frame, uint64_t now_ns) {
  const uint64_t ts = TimestampNs(frame);
  last_arrival_ns_ = now_ns;
  if (ts < released_ts_ns_) {
    late_.Increment();
    emit_(frame);
    return;
  }
  Held held{ts, order_++, frame, std::vector<uint8_t>(frame.data, frame.data + frame.cap_len)};
  held.frame.data = nullptr;  // set from `bytes` when emitted (the vector may move)
  held_bytes_ += held.bytes.size() + sizeof(Held);
  heap_.push_back(std::move(held));
  std::push_heap(heap_.begin(), heap_.end(), Later);
  held_count_.Set(heap_.size());
  newest_ts_ns_ = std::max(newest_ts_ns_, ts);
  while (held_bytes_ > max_bytes_) EmitOldest();
}

void ReorderWindow::EmitOldest() {
  std::pop_heap(heap_.begin(), heap_.end(), Later);
  Held held = std::move(heap_.back());
  heap_.pop_back();
  held_bytes_ -= held.bytes.size() + sizeof(Held);
  held_count_.Set(heap_.size());
  released_ts_ns_ = std::max(released_ts_ns_, held.ts_ns);
  held.frame.data = held.bytes.data();
  emit_(held.frame);
}

uint64_t ReorderWindow::Release(uint64_t now_ns) {
  const bool idle = now_ns >= last_arrival_ns_ + window_ns_;
  while (!heap_.empty() && (idle || heap_.front().ts_ns + window_ns_ <= newest_ts_ns_)) EmitOldest();
  return heap_.empty() ? UINT64_MAX : last_arrival_ns_ + window_ns_;
}

void ReorderWindow::ReleaseAll() {
  while (!heap_.empty()) EmitOldest();
}

}  // namespace dicap
