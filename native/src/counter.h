// Counters read by other threads while one thread writes them. A counter with a single
// writer needs no locked read-modify-write: a relaxed load + store is enough and keeps
// the packet path free of atomic RMW instructions.
#pragma once

#include <atomic>
#include <cstdint>

namespace dicap {

class SingleWriterCounter {
 public:
  void Add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Increment() { Add(1); }
  void Set(uint64_t n) { value_.store(n, std::memory_order_relaxed); }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Several threads add (the export workers of one epoch), anyone reads.
class SharedCounter {
 public:
  void Add(uint64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Reset() { value_.store(0, std::memory_order_relaxed); }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

constexpr size_t kCacheLine = 64;

}  // namespace dicap
