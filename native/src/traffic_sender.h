// Sends frames out of one interface through an AF_PACKET socket, a batch per sendmmsg().
//
// Why sendmmsg and not PACKET_TX_RING: measured here (kernel 6.18, veth pair into another
// namespace, 2 M frames per run, batches of 64), sendmmsg sent 3.3–3.5 M frames/s at
// 0.28–0.31 CPU-s per million frames, a TPACKET_V2 TX ring 2.6–2.8 M frames/s at 0.36–0.38
// (60- and 1514-byte frames alike). The ring builds each skb from pages of the ring, which
// costs more than copying one frame into a linear skb; and sendmmsg reports every refused
// frame to the caller, where the ring leaves it queued and reports only "ENOBUFS".
//
// PACKET_QDISC_BYPASS (on by default) hands frames straight to the driver: a little faster
// on veth, more on NICs with a queue, but the sending interface's egress qdisc and taps
// (tc egress filters, a tcpdump on that interface) never see them. Capture on the peer
// (as the lab's mirror does, at the peer's ingress) or turn the bypass off.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "traffic_frame.h"

namespace dicap {

// What one Send() did. Transient refusals (ENOBUFS, EAGAIN, ENOMEM: a full device queue or
// backlog) are retried with a growing pause; a frame refused kMaxAttempts times is given up.
struct SendOutcome {
  uint32_t sent = 0;
  uint64_t sent_bytes = 0;
  uint32_t given_up = 0;
  uint32_t refusals = 0;  // refused attempts, each followed by a retry or a give-up
  int last_errno = 0;
};

class PacketSender {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr uint32_t kMaxAttempts = 20;  // ~10 ms of pauses before a frame is given up

  PacketSender();
  ~PacketSender();
  PacketSender(const PacketSender&) = delete;
  PacketSender& operator=(const PacketSender&) = delete;

  // Opens the socket on `interface`. Throws std::runtime_error with one line naming the
  // failing step and the fix (missing interface, not Ethernet, MTU below 1500, no CAP_NET_RAW).
  void Open(const std::string& interface, bool qdisc_bypass);
  // Safe to call twice.
  void Close();

  // Room for frame i (< kBatch) of the next batch: kGenMaxFrameLen bytes.
  uint8_t* Frame(size_t i) { return buffers_.data() + i * kGenMaxFrameLen; }
  // Sends frames 0..n-1 of the batch. Throws std::runtime_error on a failure that retrying
  // cannot cure (interface down or gone, frame too long for the MTU, ...).
  SendOutcome Send(const uint16_t* lengths, size_t n);

 private:
  [[noreturn]] void Fail(int error_number) const;

  int socket_ = -1;
  std::string interface_;
  std::vector<uint8_t> buffers_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> messages_;
};

}  // namespace dicap
