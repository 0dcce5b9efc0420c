// The topologies still referenced by frames in flight, by epoch. The selection thread
// registers a topology when it comes into force; export workers look one up when the
// frames they drain move to a new epoch (rare: a mutex is fine here, never per frame).
#pragma once

#include <deque>
#include <mutex>

#include "topology.h"

namespace dicap {

class TopologyRegistry {
 public:
  void Add(TopologyPtr topology) {
    std::lock_guard<std::mutex> lock(mutex_);
    recent_.push_back(std::move(topology));
    if (recent_.size() > kKept) recent_.pop_front();
  }

  TopologyPtr Find(uint32_t epoch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
      if ((*it)->epoch == epoch) return *it;
    }
    return nullptr;
  }

  TopologyPtr Latest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return recent_.empty() ? nullptr : recent_.back();
  }

 private:
  static constexpr size_t kKept = 16;
  mutable std::mutex mutex_;
  std::deque<TopologyPtr> recent_;
};

}  // namespace dicap
