// Live frame source: one AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring
// on the passive interface, promiscuous, reading frames in wire order on one thread.
// Several rings (--capture-threads) join one PACKET_FANOUT group: the kernel hashes each
// frame's flow (symmetrically) to one ring, so every frame lands in exactly one of them.
// The kernel truncates each frame to the snaplen (a BPF filter, as tcpdump -s does; in-band
// topology frames stay whole), so the ring holds headers, not whole frames, and absorbs
// long bursts.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <tuple>

#include "frame_sink.h"

struct sock_filter;

namespace dicap {

struct RingOptions {
  std::string interface;
  uint32_t block_size = 1u << 20;  // bytes, a multiple of the page size
  uint32_t block_count = 64;
  uint32_t retire_ms =
      50;  // the kernel hands over a partly filled block after this long (the agent's default)
  uint32_t snaplen = 128;  // bytes kept per frame (the kernel truncates)
  // PACKET_FANOUT: kNone for a lone ring; kCreate makes a new group with a kernel-chosen
  // unique ID (read it with fanout_group()); kJoin joins `fanout_group`.
  enum class Fanout { kNone, kCreate, kJoin } fanout = Fanout::kNone;
  uint16_t fanout_group = 0;
  // A frame whose ring is full goes to another ring of the group instead of being dropped
  // (PACKET_FANOUT_FLAG_ROLLOVER); such frames are counted (RingStats::rollovers).
  bool fanout_rollover = false;
  // A BPF socket filter (the selection in the kernel) to attach instead of the snaplen
  // filter; it returns the bytes to keep itself. -1: none.
  int bpf_filter_fd = -1;
};

struct RingStats {
  uint64_t packets;    // tp_packets: frames the socket received, drops included
  uint64_t drops;      // tp_drops: frames the kernel could not put in the ring (it was full)
  uint64_t freezes;    // tp_freeze_q_cnt: times the ring filled up
  uint64_t rollovers;  // frames this ring was full for and passed on to another ring of its group

  template <typename Self>
  static auto Fields(Self& c) {
    return std::tie(c.packets, c.drops, c.freezes, c.rollovers);
  }
};

class RingSource {
 public:
  RingSource() = default;
  ~RingSource();
  RingSource(const RingSource&) = delete;
  RingSource& operator=(const RingSource&) = delete;

  // One straight sequence, so no frame arrives before the ring is ready and none is taken
  // twice: socket → version → ring → mmap → promiscuous → drop-all filter → bind → fanout
  // join → capture filter. Until the join the socket receives every frame of the link on
  // its own (the group has them too), so it drops them all; the capture filter (the step
  // where a different program can be attached instead) goes on after the join. Throws
  // std::runtime_error naming the syscall.
  void Open(const RingOptions& options);
  // After Open with Fanout::kCreate: the group's ID, for the other rings to join.
  uint16_t fanout_group() const { return fanout_group_; }
  // Reads until Interrupt(); runs on the capture thread.
  void Run(FrameSink& sink);
  // Any thread: makes Run() return promptly.
  void Interrupt();
  // Any thread. Reading PACKET_STATISTICS resets the kernel's counters, so we add them up here.
  RingStats Stats();
  // Safe to call twice.
  void Close();

 private:
  void AttachFilter(sock_filter* program, size_t length, const char* label);
  void JoinFanout(const RingOptions& options);

  int socket_ = -1;
  int wake_fd_ = -1;  // eventfd that Interrupt() signals, for a Run() asleep in poll()
  std::atomic<bool> interrupted_{false};
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t block_size_ = 0;
  uint32_t block_count_ = 0;
  uint16_t fanout_group_ = 0;
  bool rollover_ = false;
  std::mutex stats_mutex_;
  RingStats stats_{0, 0, 0, 0};
};

}  // namespace dicap
