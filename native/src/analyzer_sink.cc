#include "analyzer_sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "byte_order.h"
#include "monotonic_clock.h"
#include "named_values.h"

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h, Linux 5.0; older glibc headers lack it
#endif

namespace dicap {

namespace {

constexpr unsigned kSlotCount = 64;   // datagrams per recvmmsg call
constexpr size_t kSlotBytes = 65536;  // larger than any UDP payload, so MSG_TRUNC means "not UDP/IPv4-sized"
constexpr int kReceiveRounds = 16;    // recvmmsg calls between looks at the flush timer
constexpr uint64_t kDrainLimitNs = 1000000000;         // on stop, read what is queued for at most this long
constexpr uint64_t kMaintainIntervalNs = 100'000'000;  // how often unfinished split records are looked at

std::string SyscallError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

const char* DropReasonName(size_t reason) {
  if (reason < kBatchReaderRejectCount) return BatchRejectName(static_cast<BatchReject>(reason));
  static constexpr NamedValue<DropReason> kNames[] = {
      {DropReason::kOversized, "OVERSIZED"},  {DropReason::kUnauthenticated, "UNAUTHENTICATED"},
      {DropReason::kBadMac, "BAD_MAC"},       {DropReason::kUnknownNode, "UNKNOWN_NODE"},
      {DropReason::kNodeLimit, "NODE_LIMIT"}, {DropReason::kStreamLimit, "STREAM_LIMIT"}};
  return NameOf(kNames, static_cast<DropReason>(reason), "UNKNOWN");
}

// ---- AnalyzerSink ------------------------------------------------------------------------

struct AnalyzerSink::Slots {
  std::vector<uint8_t> data = std::vector<uint8_t>(kSlotCount * kSlotBytes);
  std::array<mmsghdr, kSlotCount> messages{};
  std::array<iovec, kSlotCount> iovecs{};
  // Room for the SO_RXQ_OVFL drop counter and the UDP_GRO segment size of each message.
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))>, kSlotCount>
      control{};

  Slots() { Reset(); }
  void Reset() {
    for (unsigned i = 0; i < kSlotCount; ++i) {
      iovecs[i] = iovec{data.data() + i * kSlotBytes, kSlotBytes};
      messages[i] = mmsghdr{};
      messages[i].msg_hdr.msg_iov = &iovecs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_control = control[i].data();
      messages[i].msg_hdr.msg_controllen = control[i].size();
    }
  }
  const uint8_t* datagram(unsigned i) const { return data.data() + i * kSlotBytes; }
};

AnalyzerSink::AnalyzerSink(AnalyzerSinkOptions options)
    : options_(std::move(options)), outputs_(options_.outputs), accounting_(options_.limits) {
  if (options_.batch_key) mac_.emplace(*options_.batch_key);
}

AnalyzerSink::~AnalyzerSink() {
  Stop();
}

std::vector<std::string> AnalyzerSink::Start() {
  if (phase_ != Phase::kIdle) throw SinkError("DICAP_ERR_STATE", "analyzer sink: start() may be called once");
  std::vector<std::string> notices;
  try {
    OpenSocket();
    OpenOutput(&notices);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw SinkError("DICAP_ERR_SINK_START", SyscallError("eventfd"));
    slots_ = std::make_unique<Slots>();
  } catch (...) {
    CloseAll();
    phase_ = Phase::kStopped;
    throw;
  }
  // The thread inherits a mask blocking every signal: SIGINT/SIGTERM belong to Node's main
  // thread, and a SIGPIPE from a closed output pipe must not kill the process (EPIPE is
  // handled as an orderly end).
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& error) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    CloseAll();
    phase_ = Phase::kStopped;
    throw SinkError("DICAP_ERR_SINK_START", std::string("analyzer sink thread: ") + error.what());
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  phase_ = Phase::kRunning;
  return notices;
}

void AnalyzerSink::OpenSocket() {
  in_addr address{};
  if (inet_pton(AF_INET, options_.host.c_str(), &address) != 1) {
    throw SinkError("DICAP_ERR_ARGUMENT",
                    "analyzer sink: host \"" + options_.host + "\" is not an IPv4 address");
  }
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  socket_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket_ < 0) throw SinkError("DICAP_ERR_SINK_START", SyscallError("socket"));
  // A big receive buffer absorbs bursts from many agents while the thread writes. FORCE
  // ignores net.core.rmem_max but needs CAP_NET_ADMIN; without it the kernel caps the request.
  const int requested = static_cast<int>(options_.receive_buffer_bytes);
  if (setsockopt(socket_, SOL_SOCKET, SO_RCVBUFFORCE, &requested, sizeof requested) != 0 &&
      setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &requested, sizeof requested) != 0) {
    throw SinkError("DICAP_ERR_SINK_START", SyscallError("setsockopt SO_RCVBUF"));
  }
  int granted = 0;
  socklen_t granted_size = sizeof granted;
  getsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &granted, &granted_size);
  granted_receive_buffer_ =
      static_cast<uint32_t>(granted / 2);  // the kernel doubles the request for its bookkeeping
  const int on = 1;
  if (setsockopt(socket_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) {
    throw SinkError("DICAP_ERR_SINK_START", SyscallError("setsockopt SO_RXQ_OVFL"));
  }
  // UDP GRO (Linux 5.0): the agents send runs of equal datagrams as one UDP GSO write
  // (export_worker.cc); with GRO the kernel queues such a run as one message instead of
  // cutting it into datagrams on the way in, and a NIC's GRO merges the datagrams of one
  // agent again: per-datagram receive work in the kernel becomes per-run work, and
  // HandleBatch cuts the runs. Without it every datagram arrives on its own, as before.
  gro_ = setsockopt(socket_, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
  sockaddr_in bind_address{};
  bind_address.sin_family = AF_INET;
  bind_address.sin_port = htons(options_.port);
  bind_address.sin_addr = address;
  if (bind(socket_, reinterpret_cast<sockaddr*>(&bind_address), sizeof bind_address) != 0) {
    throw SinkError(errno == EADDRINUSE ? "DICAP_ERR_ADDRESS_IN_USE" : "DICAP_ERR_SINK_START",
                    SyscallError("bind " + where));
  }
  sockaddr_in bound{};
  socklen_t bound_size = sizeof bound;
  getsockname(socket_, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  bound_port_ = ntohs(bound.sin_port);
}

void AnalyzerSink::OpenOutput(std::vector<std::string>* notices) {
  try {
    outputs_.Open(notices);
  } catch (const OutputOpenError& error) {
    throw SinkError("DICAP_ERR_SINK_OUTPUT", error.what());
  }
}

void AnalyzerSink::CloseAll() {
  outputs_.Close();
  if (socket_ >= 0) close(socket_);
  if (wake_fd_ >= 0) close(wake_fd_);
  socket_ = wake_fd_ = -1;
}

void AnalyzerSink::Stop() {
  if (phase_ == Phase::kRunning) {
    stop_requested_.store(true, std::memory_order_relaxed);
    outputs_.RequestStop();
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    thread_.join();
    CloseAll();
  }
  phase_ = Phase::kStopped;  // an instance runs once
}

void AnalyzerSink::Reopen() {
  if (phase_ != Phase::kRunning) return;
  outputs_.RequestReopen();
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void AnalyzerSink::Run() {
  uint64_t last_maintain = MonotonicNs();
  pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    // The outputs say how long we may sleep (flush timer, rotation, a FIFO without reader);
    // wake at least every maintenance interval to give up split records that stopped coming.
    const int outputs_timeout = outputs_.Service(MonotonicNs());
    const int maintain_ms = static_cast<int>(kMaintainIntervalNs / 1000000);
    const int timeout_ms = outputs_timeout < 0 ? maintain_ms : std::min(outputs_timeout, maintain_ms);
    if (poll(fds, 2, timeout_ms) > 0) {
      if (fds[0].revents & POLLIN) ReceiveQueued(kReceiveRounds);
      if (fds[1].revents & POLLIN) {
        uint64_t wakes;
        (void)!read(wake_fd_, &wakes, sizeof wakes);  // a reopen request (or stop) was posted
      }
    }
    const uint64_t now = MonotonicNs();
    if (now - last_maintain >= kMaintainIntervalNs) {
      accounting_.Maintain(now);
      last_maintain = now;
    }
  }
  // Write what reached the socket before the stop, within reason under a flood.
  const uint64_t drain_until = MonotonicNs() + kDrainLimitNs;
  while (MonotonicNs() < drain_until && ReceiveQueued(kReceiveRounds)) {
  }
  outputs_.Close();
}

bool AnalyzerSink::ReceiveQueued(int max_batches) {
  for (int round = 0; round < max_batches; ++round) {
    slots_->Reset();
    const int n = recvmmsg(socket_, slots_->messages.data(), kSlotCount, MSG_DONTWAIT, nullptr);
    if (n <= 0) return false;  // EAGAIN: queue empty (other errors of a UDP socket are transient)
    HandleBatch(static_cast<unsigned>(n));
  }
  return true;
}

void AnalyzerSink::NoteSocketDrops(uint32_t cumulative) {
  socket_drops_.Add(static_cast<uint32_t>(cumulative - last_drop_report_));  // modulo 2^32
  last_drop_report_ = cumulative;
}

void AnalyzerSink::HandleBatch(unsigned count) {
  Slots& slots = *slots_;
  for (unsigned i = 0; i < count; ++i) {
    msghdr& message = slots.messages[i].msg_hdr;
    int segment_size = 0;  // set when the message holds several datagrams merged by GRO
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t drops;
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        NoteSocketDrops(drops);
      } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
        std::memcpy(&segment_size, CMSG_DATA(c), sizeof segment_size);
      }
    }
    const uint8_t* data = slots.datagram(i);
    const size_t length = slots.messages[i].msg_len;
    const bool truncated = message.msg_flags & MSG_TRUNC;
    if (segment_size <= 0 || static_cast<size_t>(segment_size) >= length || truncated) {
      HandleDatagram(data, length, truncated);
      continue;
    }
    // GRO merged datagrams of one sender and one size; only the last may be shorter.
    coalesced_messages_.Increment();
    const size_t step = static_cast<size_t>(segment_size);
    for (size_t offset = 0; offset < length; offset += step)
      HandleDatagram(data + offset, std::min(step, length - offset), false);
  }
}

void AnalyzerSink::HandleDatagram(const uint8_t* data, size_t length, bool truncated) {
  datagrams_.Increment();
  bytes_.Add(length);
  auto drop = [this](size_t reason) { dropped_[reason].Increment(); };
  if (truncated) return drop(static_cast<size_t>(DropReason::kOversized));
  HeaderBatchView view;
  if (const std::optional<BatchReject> reject = ReadHeaderBatch(data, length, &view))
    return drop(static_cast<size_t>(*reject));
  if (mac_) {
    // Only the MAC makes a node ID believable: check it before the node gets any state.
    if (view.mac == nullptr) return drop(static_cast<size_t>(DropReason::kUnauthenticated));
    if (!mac_->Verify(data, view.signed_length, view.mac))
      return drop(static_cast<size_t>(DropReason::kBadMac));
  }
  const uint64_t now = MonotonicNs();
  const BatchOutcome outcome = accounting_.Account(view, length, now);
  if (outcome.reject) {
    return drop(static_cast<size_t>(DropReason::kUnknownNode) + static_cast<size_t>(*outcome.reject));
  }
  if (outcome.write_records) {
    ForEachGoodRecord(view, [&](const BatchRecordHeader& r, const uint8_t* bytes) {
      outputs_.Write(OutputFrame{view.node_id, view.epoch, r.ts_sec, r.ts_nsec, r.wire_len, r.cap_len, bytes},
                     now);
    });
  }
  if (outcome.whole != nullptr) {
    const BatchRecordHeader& r = outcome.whole_record;
    outputs_.Write(
        OutputFrame{view.node_id, view.epoch, r.ts_sec, r.ts_nsec, r.wire_len, r.cap_len, outcome.whole},
        now);
  }
}

void AnalyzerSink::SetTopologyNodes(const std::vector<uint32_t>& nodes) {
  accounting_.SetTopologyNodes(nodes, MonotonicNs());
}

AnalyzerSinkCounters AnalyzerSink::Counters() const {
  AnalyzerSinkCounters c;
  c.datagrams = datagrams_.Get();
  c.bytes = bytes_.Get();
  for (size_t i = 0; i < kDropReasonCount; ++i) c.dropped[i] = dropped_[i].Get();
  c.socket_drops = socket_drops_.Get();
  c.coalesced_messages = coalesced_messages_.Get();
  c.gro = gro_;
  c.output = outputs_.Counters();
  c.receive_buffer_bytes = granted_receive_buffer_;
  c.accounting = accounting_.Totals();
  c.nodes = accounting_.Nodes();
  return c;
}

}  // namespace dicap
