#include "ring_source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "frame_key.h"
#include "monotonic_clock.h"

namespace dicap {

namespace {

// How long to wait for a ring block: a second, or until the sink's deadline (rounded up, so
// that the deadline has passed when poll returns).
int PollTimeoutMs(uint64_t deadline_ns) {
  constexpr int kIdleMs = 1000;
  if (deadline_ns == 0) return kIdleMs;
  const uint64_t now = MonotonicNs();
  if (deadline_ns <= now) return 0;
  return static_cast<int>(std::min<uint64_t>(kIdleMs, (deadline_ns - now + 999'999) / 1'000'000));
}

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void SetOption(int fd, int level, int name, const void* value, socklen_t size, const char* label) {
  if (setsockopt(fd, level, name, value, size) != 0) Fail(std::string("setsockopt ") + label);
}

}  // namespace

RingSource::~RingSource() {
  Close();
}

void RingSource::Open(const RingOptions& options) {
  const unsigned ifindex = if_nametoindex(options.interface.c_str());
  if (ifindex == 0) {
    throw std::runtime_error("interface \"" + options.interface +
                             "\" does not exist; check `ip link` for its name");
  }
  const long page = sysconf(_SC_PAGESIZE);
  if (options.block_size == 0 || options.block_size % page != 0) {
    throw std::runtime_error("block size " + std::to_string(options.block_size) +
                             " must be a multiple of the page size " + std::to_string(page));
  }

  // Protocol 0: the socket receives nothing until bind() below names ETH_P_ALL.
  socket_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (socket_ < 0) {
    if (errno == EPERM) {
      throw std::runtime_error("socket AF_PACKET: permission denied; run as root or grant CAP_NET_RAW");
    }
    Fail("socket AF_PACKET");
  }
  try {
    const int version = TPACKET_V3;
    SetOption(socket_, SOL_PACKET, PACKET_VERSION, &version, sizeof version, "PACKET_VERSION (v3)");

    tpacket_req3 req{};
    req.tp_block_size = options.block_size;
    req.tp_block_nr = options.block_count;
    req.tp_frame_size = TPACKET_ALIGNMENT << 7;  // nominal in V3: frames are packed back to back
    req.tp_frame_nr = (options.block_size / req.tp_frame_size) * options.block_count;
    req.tp_retire_blk_tov = options.retire_ms;
    req.tp_feature_req_word = 0;
    SetOption(socket_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req, "PACKET_RX_RING (v3)");
    block_size_ = options.block_size;
    block_count_ = options.block_count;
    ring_bytes_ = static_cast<size_t>(block_size_) * block_count_;

    void* ring = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, socket_, 0);
    if (ring == MAP_FAILED) ring = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, socket_, 0);
    if (ring == MAP_FAILED) Fail("mmap packet ring");
    ring_ = static_cast<uint8_t*>(ring);

    packet_mreq membership{};
    membership.mr_ifindex = static_cast<int>(ifindex);
    membership.mr_type = PACKET_MR_PROMISC;
    SetOption(socket_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership,
              "PACKET_ADD_MEMBERSHIP");

    // Frames this box sends are not traffic of the mirrored link (and the other nodes
    // would not see them, which would desynchronise round-robin counting).
    const int ignore_outgoing = 1;
    SetOption(socket_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &ignore_outgoing, sizeof ignore_outgoing,
              "PACKET_IGNORE_OUTGOING");

    // Nothing is taken until the ring is in its group (see Open in ring_source.h).
    sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    AttachFilter(drop_all, sizeof drop_all / sizeof drop_all[0], "SO_ATTACH_FILTER (drop all)");

    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(ifindex);
    if (bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      Fail("bind AF_PACKET to " + options.interface);
    }

    if (options.fanout != RingOptions::Fanout::kNone) JoinFanout(options);

    // The capture filter. Keep the first snaplen bytes of every frame, but in-band topology
    // frames (EtherType 0x88B5, SPEC.md §2) whole: their HMAC covers all of their bytes.
    sock_filter keep_snaplen[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kInbandEthertype, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, options.snaplen),
        BPF_STMT(BPF_RET | BPF_K, 0xFFFF),
    };
    if (options.bpf_filter_fd >= 0) {
      // The selection in the kernel: it keeps snaplen bytes of this node's frames itself.
      SetOption(socket_, SOL_SOCKET, SO_ATTACH_BPF, &options.bpf_filter_fd, sizeof options.bpf_filter_fd,
                "SO_ATTACH_BPF (selection)");
    } else {
      AttachFilter(keep_snaplen, sizeof keep_snaplen / sizeof keep_snaplen[0], "SO_ATTACH_FILTER (snaplen)");
    }

    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) Fail("eventfd");
  } catch (...) {
    Close();
    throw;
  }
}

void RingSource::AttachFilter(sock_filter* program, size_t length, const char* label) {
  sock_fprog fprog{static_cast<unsigned short>(length), program};
  SetOption(socket_, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog, label);
}

void RingSource::JoinFanout(const RingOptions& options) {
  const bool create = options.fanout == RingOptions::Fanout::kCreate;
  // Hash: the kernel's symmetric flow hash, so both directions of a connection share a ring.
  // No PACKET_FANOUT_FLAG_DEFRAG: it would hand over reassembled packets instead of the
  // fragments that were on the wire.
  uint32_t flags = (options.fanout_rollover ? PACKET_FANOUT_FLAG_ROLLOVER : 0) |
                   (create ? PACKET_FANOUT_FLAG_UNIQUEID : 0);
  const uint32_t argument = (create ? 0u : options.fanout_group) | ((PACKET_FANOUT_HASH | flags) << 16);
  SetOption(socket_, SOL_PACKET, PACKET_FANOUT, &argument, sizeof argument, "PACKET_FANOUT (hash)");
  uint32_t joined = 0;
  socklen_t size = sizeof joined;
  if (getsockopt(socket_, SOL_PACKET, PACKET_FANOUT, &joined, &size) != 0) Fail("getsockopt PACKET_FANOUT");
  fanout_group_ = static_cast<uint16_t>(joined & 0xFFFF);
  rollover_ = options.fanout_rollover;
}

void RingSource::Run(FrameSink& sink) {
  uint32_t current = 0;
  pollfd fds[2] = {{socket_, POLLIN | POLLERR, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    if (interrupted_.load(std::memory_order_acquire)) return;
    auto* block = reinterpret_cast<tpacket_block_desc*>(ring_ + static_cast<size_t>(current) * block_size_);
    auto* status = reinterpret_cast<std::atomic<uint32_t>*>(&block->hdr.bh1.block_status);
    if ((status->load(std::memory_order_acquire) & TP_STATUS_USER) == 0) {
      fds[0].revents = fds[1].revents = 0;
      const int ready = poll(fds, 2, PollTimeoutMs(sink.NextDeadlineNs()));
      if (ready < 0 && errno != EINTR) Fail("poll packet socket");
      if (fds[1].revents & POLLIN) return;
      if (ready == 0) sink.EndOfBurst();
      continue;
    }

    const uint32_t frames = block->hdr.bh1.num_pkts;
    auto* header = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(block) +
                                                   block->hdr.bh1.offset_to_first_pkt);
    for (uint32_t i = 0; i < frames; ++i) {
      SourceFrame frame;
      frame.data = reinterpret_cast<const uint8_t*>(header) + header->tp_mac;
      frame.cap_len = header->tp_snaplen;
      frame.wire_len = header->tp_len;
      frame.ts_ns = static_cast<uint64_t>(header->tp_sec) * 1000000000ull + header->tp_nsec;
      frame.has_vlan = (header->tp_status & TP_STATUS_VLAN_VALID) != 0;
      frame.vlan_tci = header->hv1.tp_vlan_tci;
      frame.vlan_tpid =
          (header->tp_status & TP_STATUS_VLAN_TPID_VALID) ? header->hv1.tp_vlan_tpid : ETH_P_8021Q;
      sink.OnFrame(frame);
      header = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(header) + header->tp_next_offset);
    }
    // Every frame we keep has been copied by the sink: hand the block back at once.
    status->store(TP_STATUS_KERNEL, std::memory_order_release);
    current = (current + 1) % block_count_;
    // A block is a burst: the kernel fills it for up to retire_ms, and the workers are
    // woken once for what it held instead of once per frame.
    sink.EndOfBurst();
  }
}

void RingSource::Interrupt() {
  interrupted_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
}

RingStats RingSource::Stats() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  if (socket_ >= 0) {
    tpacket_stats_v3 kernel{};
    socklen_t size = sizeof kernel;
    if (getsockopt(socket_, SOL_PACKET, PACKET_STATISTICS, &kernel, &size) == 0) {
      stats_.packets += kernel.tp_packets;
      stats_.drops += kernel.tp_drops;
      stats_.freezes += kernel.tp_freeze_q_cnt;
    }
    // Not reset by reading: the kernel's running totals.
    tpacket_rollover_stats rollover{};
    size = sizeof rollover;
    if (rollover_ && getsockopt(socket_, SOL_PACKET, PACKET_ROLLOVER_STATS, &rollover, &size) == 0) {
      stats_.rollovers = rollover.tp_all;
    }
  }
  return stats_;
}

void RingSource::Close() {
  if (socket_ >= 0) Stats();  // keep the last counts the kernel holds
  if (ring_ != nullptr) {
    munmap(ring_, ring_bytes_);
    ring_ = nullptr;
  }
  if (socket_ >= 0) {
    close(socket_);
    socket_ = -1;
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
    wake_fd_ = -1;
  }
}

}  // namespace dicap
