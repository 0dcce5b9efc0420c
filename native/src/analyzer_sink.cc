#include "analyzer_sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

#include "byte_order.h"
#include "header_batch_writer.h"
#include "monotonic_clock.h"

namespace dicap {

namespace {

constexpr uint8_t kHeaderBatchVersion = 1;
constexpr uint8_t kHeaderBatchFlagEthernet = 0x01;
constexpr unsigned kSlotCount = 64;   // datagrams per recvmmsg call
constexpr size_t kSlotBytes = 65536;  // larger than any UDP payload, so MSG_TRUNC means "not UDP/IPv4-sized"
constexpr int kReceiveRounds = 16;    // recvmmsg calls between looks at the flush timer
constexpr uint64_t kDrainLimitNs = 1000000000;  // on stop, read what is queued for at most this long

std::string SyscallError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

const char* BatchRejectName(BatchReject reason) {
  switch (reason) {
    case BatchReject::kShort:
      return "SHORT";
    case BatchReject::kBadMagic:
      return "BAD_MAGIC";
    case BatchReject::kBadVersion:
      return "BAD_VERSION";
    case BatchReject::kBadFlags:
      return "BAD_FLAGS";
    case BatchReject::kBadReserved:
      return "BAD_RESERVED";
    case BatchReject::kRecordOverrun:
      return "RECORD_OVERRUN";
    case BatchReject::kCountMismatch:
      return "COUNT_MISMATCH";
    case BatchReject::kBadRecord:
      return "BAD_RECORD";
    case BatchReject::kTrailingBytes:
      return "TRAILING_BYTES";
    case BatchReject::kOversized:
      return "OVERSIZED";
  }
  return "UNKNOWN";
}

// Same checks, in the same order, as decodeHeaderBatch in protocol/header-batch.ts.
std::optional<BatchReject> ValidateHeaderBatch(const uint8_t* data, size_t length, BatchHeader* header) {
  if (length < kHeaderBatchHeaderSize) return BatchReject::kShort;
  if (LoadBe32(data) != kHeaderBatchMagic) return BatchReject::kBadMagic;
  if (data[4] != kHeaderBatchVersion) return BatchReject::kBadVersion;
  if (data[5] != kHeaderBatchFlagEthernet) return BatchReject::kBadFlags;
  if (LoadBe16(data + 18) != 0) return BatchReject::kBadReserved;
  const uint16_t count = LoadBe16(data + 6);
  size_t offset = kHeaderBatchHeaderSize;
  for (uint16_t i = 0; i < count; ++i) {
    if (offset == length) return BatchReject::kCountMismatch;
    if (offset + kHeaderBatchRecordHeaderSize > length) return BatchReject::kRecordOverrun;
    const uint8_t* record = data + offset;
    const uint16_t wire_len = LoadBe16(record + 8);
    const uint16_t cap_len = LoadBe16(record + 10);
    const size_t end = offset + kHeaderBatchRecordHeaderSize + cap_len;
    if (end > length) return BatchReject::kRecordOverrun;
    if (LoadBe32(record + 4) > 999999999u || cap_len > wire_len) return BatchReject::kBadRecord;
    offset = end;
  }
  if (offset != length) return BatchReject::kTrailingBytes;
  *header =
      BatchHeader{LoadBe32(data + 8), LoadBe32(data + 12), LoadBe16(data + 16), count, LoadBe64(data + 20)};
  return std::nullopt;
}

// ---- StreamSequence ----------------------------------------------------------------------

void StreamSequence::SetMissing(uint64_t seq, bool missing) {
  uint64_t& word = missing_[(seq % kWindow) / 64];
  const uint64_t bit = uint64_t{1} << (seq % 64);
  word = missing ? (word | bit) : (word & ~bit);
}

void StreamSequence::MarkMissing(uint64_t from, uint64_t to) {
  // Only the newest kWindow of them fit; older ones stay counted but can no longer be told
  // apart from duplicates if they ever arrive.
  if (to - from > kWindow) from = to - kWindow;
  for (uint64_t seq = from; seq < to; ++seq) SetMissing(seq, true);
}

void StreamSequence::StartRun(uint32_t epoch, uint64_t seq) {
  started_ = true;
  epoch_ = epoch;
  next_ = seq + 1;
  missing_.fill(0);
}

SeqVerdict StreamSequence::Account(uint32_t epoch, uint64_t seq, uint64_t* gap) {
  *gap = 0;
  if (!started_) {
    // Whatever the sender sent before we listened is not ours to count.
    StartRun(epoch, seq);
    return SeqVerdict::kNewRun;
  }
  if (seq >= next_) {
    *gap = seq - next_;
    MarkMissing(next_, seq);
    SetMissing(seq, false);
    next_ = seq + 1;
    epoch_ = epoch;
    return *gap == 0 ? SeqVerdict::kInOrder : SeqVerdict::kGap;
  }
  if (next_ - seq <= kWindow && Missing(seq)) {
    SetMissing(seq, false);
    return SeqVerdict::kLate;
  }
  if (seq == 0 || epoch != epoch_) {
    // The sender restarted: seq 0 again (a duplicate of a run's seq 0 cannot be told from
    // a restart), or a new epoch with a lower seq, meaning its first datagrams were lost.
    StartRun(epoch, seq);
    *gap = seq;
    MarkMissing(0, seq);
    return SeqVerdict::kNewRun;
  }
  return SeqVerdict::kDuplicate;
}

// ---- AnalyzerSink ------------------------------------------------------------------------

struct AnalyzerSink::Slots {
  std::vector<uint8_t> data = std::vector<uint8_t>(kSlotCount * kSlotBytes);
  std::array<mmsghdr, kSlotCount> messages{};
  std::array<iovec, kSlotCount> iovecs{};
  // Room for the SO_RXQ_OVFL drop counter of each datagram.
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(uint32_t))>, kSlotCount> control{};
  std::array<bool, kSlotCount> write{};  // accepted and not a duplicate

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
    : options_(std::move(options)), outputs_(options_.outputs) {}

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
  pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    // The outputs say how long we may sleep: flush timer, rotation, a FIFO without reader.
    const int timeout_ms = outputs_.Service(MonotonicNs());
    if (poll(fds, 2, timeout_ms) <= 0) continue;
    if (fds[0].revents & POLLIN) ReceiveQueued(kReceiveRounds);
    if (fds[1].revents & POLLIN) {
      uint64_t wakes;
      (void)!read(wake_fd_, &wakes, sizeof wakes);  // a reopen request (or stop) was posted
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
  {
    std::lock_guard<std::mutex> lock(accounting_mutex_);
    for (unsigned i = 0; i < count; ++i) {
      msghdr& message = slots.messages[i].msg_hdr;
      const size_t length = slots.messages[i].msg_len;
      slots.write[i] = false;
      datagrams_.Increment();
      bytes_.Add(length);
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops;
          std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
          NoteSocketDrops(drops);
        }
      }
      BatchHeader header;
      const std::optional<BatchReject> reject = (message.msg_flags & MSG_TRUNC)
                                                    ? BatchReject::kOversized
                                                    : ValidateHeaderBatch(slots.datagram(i), length, &header);
      if (reject) {
        malformed_[static_cast<size_t>(*reject)].Increment();
        continue;
      }
      records_.Add(header.count);
      const uint64_t key = uint64_t{header.node_id} << 16 | header.stream;
      auto [stream, fresh] = streams_.try_emplace(key);
      NodeCounters& node = nodes_[header.node_id];
      node.node_id = header.node_id;
      if (fresh) ++node.streams;
      uint64_t gap = 0;
      const SeqVerdict verdict = stream->second.Account(header.epoch, header.seq, &gap);
      ++node.datagrams;
      node.records += header.count;
      node.bytes += length;
      node.gap_datagrams += gap;
      switch (verdict) {
        case SeqVerdict::kNewRun:
          ++node.runs;
          break;
        case SeqVerdict::kLate:
          ++node.late_datagrams;
          break;
        case SeqVerdict::kDuplicate:
          ++node.duplicate_datagrams;
          node.duplicate_records += header.count;
          continue;  // its records were written when it first came
        case SeqVerdict::kInOrder:
        case SeqVerdict::kGap:
          break;
      }
      if (verdict != SeqVerdict::kLate) node.last_epoch = stream->second.epoch();
      slots.write[i] = true;
    }
  }
  const uint64_t now = MonotonicNs();
  for (unsigned i = 0; i < count; ++i) {
    if (!slots.write[i]) continue;
    const uint8_t* datagram = slots.datagram(i);
    const uint16_t records = LoadBe16(datagram + 6);
    const uint32_t node_id = LoadBe32(datagram + 8);
    const uint32_t epoch = LoadBe32(datagram + 12);
    const uint8_t* record = datagram + kHeaderBatchHeaderSize;
    for (uint16_t r = 0; r < records; ++r) {
      const uint16_t cap_len = LoadBe16(record + 10);
      outputs_.Write(OutputFrame{node_id, epoch, LoadBe32(record), LoadBe32(record + 4), LoadBe16(record + 8),
                                 cap_len, record + kHeaderBatchRecordHeaderSize},
                     now);
      record += kHeaderBatchRecordHeaderSize + cap_len;
    }
  }
}

AnalyzerSinkCounters AnalyzerSink::Counters() const {
  AnalyzerSinkCounters c;
  c.datagrams = datagrams_.Get();
  c.bytes = bytes_.Get();
  c.records = records_.Get();
  for (size_t i = 0; i < kBatchRejectCount; ++i) c.malformed[i] = malformed_[i].Get();
  c.socket_drops = socket_drops_.Get();
  c.output = outputs_.Counters();
  c.receive_buffer_bytes = granted_receive_buffer_;
  std::lock_guard<std::mutex> lock(accounting_mutex_);
  c.nodes.reserve(nodes_.size());
  for (const auto& entry : nodes_) c.nodes.push_back(entry.second);
  return c;
}

}  // namespace dicap
