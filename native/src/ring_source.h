// Live frame source: one AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring
// on the passive interface, promiscuous, reading frames in wire order on one thread.
// The kernel truncates each frame to the snaplen (a BPF filter, as tcpdump -s does; in-band
// topology frames stay whole), so the ring holds headers, not whole frames, and absorbs
// long bursts.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "frame_sink.h"

namespace dicap {

struct RingOptions {
  std::string interface;
  uint32_t block_size = 1u << 20;  // bytes, a multiple of the page size
  uint32_t block_count = 64;
  uint32_t retire_ms = 10;  // the kernel hands over a partly filled block after this long
  uint32_t snaplen = 128;   // bytes kept per frame (the kernel truncates)
};

struct RingStats {
  uint64_t packets;  // tp_packets: frames the socket received, drops included
  uint64_t drops;    // tp_drops: frames the kernel could not put in the ring (it was full)
  uint64_t freezes;  // tp_freeze_q_cnt: times the ring filled up
};

class RingSource {
 public:
  RingSource() = default;
  ~RingSource();
  RingSource(const RingSource&) = delete;
  RingSource& operator=(const RingSource&) = delete;

  // socket → version → ring → mmap → promiscuous → filter → bind, in that order, so no
  // frame arrives before the ring is ready. Throws std::runtime_error naming the syscall.
  void Open(const RingOptions& options);
  // Reads until Interrupt(); runs on the capture thread.
  void Run(FrameSink& sink);
  // Any thread: makes Run() return promptly.
  void Interrupt();
  // Any thread. Reading PACKET_STATISTICS resets the kernel's counters, so we add them up here.
  RingStats Stats();
  // Safe to call twice.
  void Close();

 private:
  int socket_ = -1;
  int wake_fd_ = -1;  // eventfd that Interrupt() signals, for a Run() asleep in poll()
  std::atomic<bool> interrupted_{false};
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t block_size_ = 0;
  uint32_t block_count_ = 0;
  std::mutex stats_mutex_;
  RingStats stats_{0, 0, 0};
};

}  // namespace dicap
