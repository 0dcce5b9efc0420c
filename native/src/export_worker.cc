#include "export_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "monotonic_clock.h"
#include "thread_affinity.h"

namespace dicap {

namespace {

constexpr size_t kBufferPool = 64;      // datagrams a worker may hold: open batches + ready ones
constexpr size_t kSendBatch = 32;       // datagrams per sendmmsg
constexpr size_t kDrainPerLoop = 1024;  // frames taken from the queue before timers are checked
constexpr uint64_t kIdleWaitNs = 100'000'000;

constexpr size_t kMaxQueueBytes = 64u << 20;  // whole frames make slots large: bound a worker's queue memory

size_t QueueSlots(const ExportOptions& options) {
  const size_t slot = sizeof(QueuedFrame) + options.snaplen;
  return std::max<size_t>(64, std::min(options.queue_slots, kMaxQueueBytes / slot));
}

std::string ErrnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

ExportWorker::ExportWorker(uint16_t stream, const ExportOptions& options, const TopologyRegistry& topologies,
                           EpochLedger& ledger)
    : stream_(stream),
      options_(options),
      topologies_(topologies),
      ledger_(ledger),
      queue_(QueueSlots(options), options.snaplen),
      mac_(options.batch_key ? std::optional<HeaderBatchMac>(*options.batch_key) : std::nullopt),
      rng_(static_cast<unsigned>(MonotonicNs() ^ (uint64_t{stream} << 32) ^ options.node_id)) {
  buffers_.reserve(kBufferPool);
  writers_.resize(kBufferPool);
  buffer_destination_.resize(kBufferPool);
  buffer_epoch_.resize(kBufferPool);
  for (size_t i = 0; i < kBufferPool; ++i) {
    buffers_.emplace_back(new uint8_t[options.payload_size]);
    free_buffers_.push_back(static_cast<int>(i));
  }
}

ExportWorker::~ExportWorker() {
  Stop();
}

void ExportWorker::Start() {
  socket_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_ < 0) throw std::runtime_error(ErrnoText("socket AF_INET SOCK_DGRAM (export)"));
  int sndbuf = options_.socket_sndbuf;
  // SO_SNDBUFFORCE passes the sysctl cap when we are privileged; the plain option is the fallback.
  if (setsockopt(socket_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0) {
    setsockopt(socket_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  thread_ = std::thread([this] { Run(); });
  const std::string name = "dicap-export-" + std::to_string(stream_);  // at most 15 characters
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  if (!PinThread(thread_, options_.cpu)) {
    throw std::runtime_error("--cpus: cannot pin export worker " + std::to_string(stream_) + " to CPU " +
                             std::to_string(options_.cpu) + "; list CPUs this process may use (taskset -p)");
  }
}

void ExportWorker::Stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_release);
    queue_.Interrupt();
    thread_.join();
  }
  if (socket_ >= 0) {
    close(socket_);
    socket_ = -1;
  }
}

ExportWorkerCounters ExportWorker::counters() const {
  return {records_exported_.Get(),
          datagrams_sent_.Get(),
          bytes_sent_.Get(),
          send_errors_.Get(),
          records_send_failed_.Get(),
          records_no_analyzer_.Get(),
          last_send_errno_.load(std::memory_order_relaxed)};
}

void ExportWorker::Run() {
  for (;;) {
    size_t drained = 0;
    while (drained < kDrainPerLoop) {
      const QueuedFrame* frame = queue_.Front();
      if (frame == nullptr) break;
      if (!has_epoch_ || frame->epoch != epoch_) SwitchEpoch(frame->epoch);
      Export(*frame);
      queue_.Pop();
      ++drained;
    }
    const uint64_t now = MonotonicNs();
    CloseExpiredBatches(now);
    if (ready_buffers_.size() >= kSendBatch || (drained < kDrainPerLoop && !ready_buffers_.empty()))
      SendReady();
    if (drained == 0) {
      // Read `stopping_` before the final emptiness check: the producer has stopped
      // pushing before it sets the flag, so an empty queue now really is the end.
      if (stopping_.load(std::memory_order_acquire) && queue_.Empty()) break;
      const uint64_t deadline = NextDeadlineNs();
      const uint64_t wait =
          deadline == 0 ? kIdleWaitNs : (deadline > now ? std::min(deadline - now, kIdleWaitNs) : 0);
      if (wait > 0) queue_.WaitForFrames(std::chrono::nanoseconds(wait));
    }
  }
  CloseAllBatches();
  SendReady();
}

void ExportWorker::SwitchEpoch(uint32_t epoch) {
  CloseAllBatches();
  SendReady();
  epoch_ = epoch;
  has_epoch_ = true;
  epoch_destinations_.clear();
  TopologyPtr topology = topologies_.Find(epoch);
  if (topology == nullptr) return;  // no analyzers known for it: its frames are counted as undeliverable
  for (const AnalyzerAddress& analyzer : topology->analyzers) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(analyzer.ip);
    address.sin_port = htons(analyzer.port);
    auto same = [&](const Destination& d) {
      return d.address.sin_addr.s_addr == address.sin_addr.s_addr && d.address.sin_port == address.sin_port;
    };
    auto it = std::find_if(destinations_.begin(), destinations_.end(), same);
    if (it == destinations_.end()) {
      destinations_.push_back(Destination{address});
      it = destinations_.end() - 1;
    }
    epoch_destinations_.push_back(static_cast<size_t>(it - destinations_.begin()));
  }
  random_choice_ = epoch_destinations_.empty() ? 0 : rng_() % epoch_destinations_.size();
}

ExportWorker::Destination& ExportWorker::PickDestination(const QueuedFrame& frame) {
  size_t choice = random_choice_;
  // The flow hash's low 12 bits pick the owning node (SPEC.md §4); use other bits here.
  if (options_.mode == ExportMode::kFlow) choice = (frame.flow_hash >> 12) % epoch_destinations_.size();
  return destinations_[epoch_destinations_[choice]];
}

void ExportWorker::Export(const QueuedFrame& frame) {
  if (epoch_destinations_.empty()) {
    records_no_analyzer_.Increment();
    ledger_.AddDropped(frame.epoch, 1);
    return;
  }
  Destination& destination = PickDestination(frame);
  if (!HeaderBatchWriter::FitsWhole(options_.payload_size, mac_.has_value(), frame.cap_len)) {
    ExportFragments(destination, frame);
    return;
  }
  if (destination.open_buffer < 0) OpenBatch(destination, MonotonicNs());
  if (writers_[destination.open_buffer].Append(frame.ts_ns, frame.wire_len, frame.data(), frame.cap_len))
    return;
  CloseBatch(destination);
  Destination& next = PickDestination(frame);  // random mode draws a new analyzer per batch
  if (next.open_buffer < 0) OpenBatch(next, MonotonicNs());
  // Always fits an empty batch: FitsWhole said so.
  writers_[next.open_buffer].Append(frame.ts_ns, frame.wire_len, frame.data(), frame.cap_len);
}

void ExportWorker::ExportFragments(Destination& destination, const QueuedFrame& frame) {
  // The pieces take consecutive seqs of this destination, right after the batch it had open,
  // so the analyzer finds them in order (SPEC.md §6.5).
  CloseBatch(destination);
  uint32_t offset = 0;
  while (offset < frame.cap_len) {
    const int index = TakeBuffer();
    offset += static_cast<uint32_t>(
        writers_[index].WriteFragment(buffers_[index].get(), options_.payload_size, options_.node_id, epoch_,
                                      stream_, destination.next_seq++, mac_.has_value(), frame.ts_ns,
                                      frame.wire_len, frame.data(), frame.cap_len, offset));
    buffer_destination_[index] = static_cast<size_t>(&destination - destinations_.data());
    buffer_epoch_[index] = epoch_;
    Ready(index);
  }
}

int ExportWorker::TakeBuffer() {
  if (free_buffers_.empty()) SendReady();
  const int index = free_buffers_.back();
  free_buffers_.pop_back();
  return index;
}

void ExportWorker::Ready(int index) {
  if (mac_) {
    HeaderBatchWriter& writer = writers_[index];
    mac_->Sign(writer.buffer(), writer.signed_length(), writer.buffer() + writer.signed_length());
  }
  ready_buffers_.push_back(index);
}

void ExportWorker::OpenBatch(Destination& destination, uint64_t now_ns) {
  const int index = TakeBuffer();
  writers_[index].Begin(buffers_[index].get(), options_.payload_size, options_.node_id, epoch_, stream_,
                        destination.next_seq++, mac_.has_value());
  buffer_destination_[index] = static_cast<size_t>(&destination - destinations_.data());
  buffer_epoch_[index] = epoch_;
  destination.open_buffer = index;
  destination.opened_ns = now_ns;
}

void ExportWorker::CloseBatch(Destination& destination) {
  if (destination.open_buffer < 0) return;
  Ready(destination.open_buffer);
  destination.open_buffer = -1;
  if (options_.mode == ExportMode::kRandom && !epoch_destinations_.empty()) {
    random_choice_ = rng_() % epoch_destinations_.size();
  }
}

void ExportWorker::CloseExpiredBatches(uint64_t now_ns) {
  for (Destination& destination : destinations_) {
    if (destination.open_buffer >= 0 && now_ns - destination.opened_ns >= options_.flush_ns)
      CloseBatch(destination);
  }
}

void ExportWorker::CloseAllBatches() {
  for (Destination& destination : destinations_) CloseBatch(destination);
}

uint64_t ExportWorker::NextDeadlineNs() const {
  uint64_t deadline = 0;
  for (const Destination& destination : destinations_) {
    if (destination.open_buffer < 0) continue;
    const uint64_t due = destination.opened_ns + options_.flush_ns;
    if (deadline == 0 || due < deadline) deadline = due;
  }
  return deadline;
}

void ExportWorker::SendReady() {
  size_t next = 0;
  while (next < ready_buffers_.size()) {
    mmsghdr messages[kSendBatch];
    iovec vectors[kSendBatch];
    const size_t count = std::min(kSendBatch, ready_buffers_.size() - next);
    for (size_t i = 0; i < count; ++i) {
      const int index = ready_buffers_[next + i];
      vectors[i] = {buffers_[index].get(), writers_[index].length()};
      std::memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_name = &destinations_[buffer_destination_[index]].address;
      messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(socket_, messages, static_cast<unsigned>(count), 0);
    if (sent < 0 && errno == EINTR) continue;
    // sendmmsg stops at the first datagram the kernel refuses: count that one as lost
    // (the analyzer sees its seq as a gap) and go on with the rest.
    const size_t delivered = sent < 0 ? 0 : static_cast<size_t>(sent);
    for (size_t i = 0; i < delivered; ++i) {
      const int index = ready_buffers_[next + i];
      records_exported_.Add(writers_[index].records());
      bytes_sent_.Add(writers_[index].length());
      ledger_.AddExported(buffer_epoch_[index], writers_[index].records());
    }
    datagrams_sent_.Add(delivered);
    next += delivered;
    if (delivered < count) {
      const int index = ready_buffers_[next];
      last_send_errno_.store(errno, std::memory_order_relaxed);
      send_errors_.Increment();
      records_send_failed_.Add(writers_[index].records());
      ledger_.AddDropped(buffer_epoch_[index], writers_[index].records());
      ++next;
    }
  }
  for (int index : ready_buffers_) free_buffers_.push_back(index);
  ready_buffers_.clear();
}

}  // namespace dicap
