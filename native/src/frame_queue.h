// Hands owned frames from the selection thread to one export worker: a bounded
// single-producer/single-consumer ring of fixed-size slots, each holding a frame's
// metadata and its first `max_cap_len` bytes (the header copy is the only copy a frame gets).
// The consumer sleeps on a condition variable only when the ring is empty; the producer
// wakes it only when it is actually asleep, and then not for every frame: once a wake
// batch of frames waits, or when its source has no more frames for now (Flush). A wake-up
// is a futex call and, with both threads on one core, two context switches; and a worker
// woken for a few frames sends their datagram before the next ones arrive, so fewer
// datagrams share a sendmmsg call or a UDP GSO write.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>

#include "counter.h"

namespace dicap {

struct QueuedFrame {
  uint64_t ts_ns;      // capture time, Unix nanoseconds
  uint32_t epoch;      // topology epoch the frame was selected under
  uint32_t flow_hash;  // SPEC.md §4 flow hash: picks the analyzer in flow export mode (else may be 0)
  uint32_t wire_len;   // length on the wire
  uint32_t cap_len;    // bytes stored in data()
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }
};

class FrameQueue {
 public:
  // `slots` is rounded up to a power of two.
  FrameQueue(size_t slots, uint32_t max_cap_len)
      : slot_size_(RoundUp(sizeof(QueuedFrame) + max_cap_len, 64)),
        mask_(RoundUpPow2(slots) - 1),
        max_cap_len_(max_cap_len),
        wake_batch_(std::min<uint64_t>(kWakeBatch, (mask_ + 1) / 4)),
        storage_(new uint8_t[slot_size_ * (mask_ + 1)]) {}

  uint32_t max_cap_len() const { return max_cap_len_; }
  size_t capacity() const { return mask_ + 1; }

  // Producer: a free slot to fill, or nullptr when the ring is full.
  QueuedFrame* BeginPush() {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ > mask_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ > mask_) return nullptr;
    }
    return SlotAt(tail);
  }

  // Producer: publishes the slot from BeginPush; wakes a sleeping consumer once a wake
  // batch of frames has been published since the last wake-up.
  void CommitPush() {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (++unsignalled_ >= wake_batch_) Signal();
  }

  // Producer: wakes a sleeping consumer for the frames published since the last wake-up.
  // A source calls it whenever it runs out of frames for now (the end of each ring block),
  // so no frame waits in the queue for more than that.
  void Flush() {
    if (unsignalled_ > 0) Signal();
  }

  // Consumer: the oldest frame, or nullptr when empty.
  const QueuedFrame* Front() {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == cached_tail_) return nullptr;
    }
    return SlotAt(head);
  }

  void Pop() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

  // Consumer: sleeps until a frame arrives, Interrupt() is called, or the timeout passes.
  void WaitForFrames(std::chrono::nanoseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    consumer_sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_.wait_for(lock, timeout, [this] { return interrupted_ || !Empty(); });
    consumer_sleeping_.store(false, std::memory_order_relaxed);
    interrupted_ = false;
  }

  // Any thread: wakes a sleeping consumer (used to stop it).
  void Interrupt() {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
    wake_.notify_one();
  }

 private:
  static size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }
  static size_t RoundUpPow2(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }
  // Frames published before a sleeping consumer is woken (unless Flush comes first): dozens
  // of datagrams for one sendmmsg and GSO write, little next to the queue's capacity.
  static constexpr uint64_t kWakeBatch = 512;

  void Signal() {
    unsignalled_ = 0;
    // The fence pairs with the one in WaitForFrames: either the consumer sees the new
    // tail, or we see that it is (about to be) asleep.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (consumer_sleeping_.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_one();
    }
  }

  QueuedFrame* SlotAt(uint64_t index) {
    return reinterpret_cast<QueuedFrame*>(storage_.get() + (index & mask_) * slot_size_);
  }

  const size_t slot_size_;
  const uint64_t mask_;
  const uint32_t max_cap_len_;
  const uint64_t wake_batch_;
  std::unique_ptr<uint8_t[]> storage_;

  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // written by the consumer
  uint64_t cached_tail_ = 0;                           // consumer's private copy
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // written by the producer
  uint64_t cached_head_ = 0;                           // producer's private copy
  uint64_t unsignalled_ = 0;                           // producer: frames published since the last Signal
  alignas(kCacheLine) std::atomic<bool> consumer_sleeping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool interrupted_ = false;
};

}  // namespace dicap
