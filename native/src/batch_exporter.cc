#include "batch_exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "monotonic_clock.h"

namespace dicap {

namespace {

constexpr size_t kBufferPool = 64;  // datagrams an exporter may hold: open batches + ready ones
constexpr size_t kSendBatch = 32;   // datagrams per sendmmsg
// One GSO write: at most this many datagrams (the kernel's UDP_MAX_SEGMENTS is 64 or 128)
// and bytes (a UDP length field holds 65535 with the 8-byte header).
constexpr size_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65507;

std::string ErrnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

BatchExporter::BatchExporter(uint16_t stream, const ExportOptions& options,
                             const TopologyRegistry& topologies, EpochLedger& ledger)
    : stream_(stream),
      options_(options),
      topologies_(topologies),
      ledger_(ledger),
      mac_(options.batch_key ? std::optional<HeaderBatchMac>(*options.batch_key) : std::nullopt),
      rng_(static_cast<unsigned>(MonotonicNs() ^ (uint64_t{stream} << 32) ^ options.node_id)),
      gso_(options.gso) {
  buffers_.reserve(kBufferPool);
  writers_.resize(kBufferPool);
  buffer_destination_.resize(kBufferPool);
  buffer_epoch_.resize(kBufferPool);
  for (size_t i = 0; i < kBufferPool; ++i) {
    buffers_.emplace_back(new uint8_t[options.payload_size]);
    free_buffers_.push_back(static_cast<int>(i));
  }
}

BatchExporter::~BatchExporter() {
  if (socket_ >= 0) close(socket_);
}

void BatchExporter::Open() {
  socket_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_ < 0) throw std::runtime_error(ErrnoText("socket AF_INET SOCK_DGRAM (export)"));
  int sndbuf = options_.socket_sndbuf;
  // SO_SNDBUFFORCE passes the sysctl cap when we are privileged; the plain option is the fallback.
  if (setsockopt(socket_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0) {
    setsockopt(socket_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
}

ExportCounters BatchExporter::counters() const {
  return {records_exported_.Get(),
          datagrams_sent_.Get(),
          bytes_sent_.Get(),
          send_errors_.Get(),
          records_send_failed_.Get(),
          records_no_analyzer_.Get(),
          last_send_errno_.load(std::memory_order_relaxed),
          gso_writes_.Get(),
          gso_fallbacks_.Get()};
}

void BatchExporter::Tick(uint64_t now_ns, bool force) {
  for (Destination& destination : destinations_) {
    if (destination.open_buffer >= 0 && now_ns - destination.opened_ns >= options_.flush_ns)
      CloseBatch(destination);
  }
  if (ready_buffers_.size() >= kSendBatch || (force && !ready_buffers_.empty())) SendReady();
}

void BatchExporter::Finish() {
  CloseAllBatches();
  SendReady();
}

void BatchExporter::SwitchEpoch(uint32_t epoch) {
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

BatchExporter::Destination& BatchExporter::PickDestination(const ExportRecord& record) {
  size_t choice = random_choice_;
  // The flow hash's low 12 bits pick the owning node (SPEC.md §4); use other bits here.
  if (options_.mode == ExportMode::kFlow) choice = (record.flow_hash >> 12) % epoch_destinations_.size();
  return destinations_[epoch_destinations_[choice]];
}

void BatchExporter::Export(const ExportRecord& record) {
  if (!has_epoch_ || record.epoch != epoch_) SwitchEpoch(record.epoch);
  if (epoch_destinations_.empty()) {
    records_no_analyzer_.Increment();
    ledger_.AddDropped(record.epoch, 1);
    return;
  }
  Destination& destination = PickDestination(record);
  if (!HeaderBatchWriter::FitsWhole(options_.payload_size, mac_.has_value(), record.cap_len)) {
    ExportFragments(destination, record);
    return;
  }
  if (destination.open_buffer < 0) OpenBatch(destination, MonotonicNs());
  HeaderBatchWriter& open = writers_[destination.open_buffer];
  if (open.Append(record.ts_ns, record.wire_len, record.data, record.cap_len)) return;
  // Full: with GSO, pad it to the payload size, so that consecutive full batches, whatever
  // their records, have one length and leave in one write (GsoRun). Without padding, frames
  // of mixed sizes left ~3 datagrams per GSO write; padded, ~30, for at most one record's
  // worth of zero bytes per datagram.
  if (gso_) open.Pad();
  CloseBatch(destination);
  Destination& next = PickDestination(record);  // random mode draws a new analyzer per batch
  if (next.open_buffer < 0) OpenBatch(next, MonotonicNs());
  // Always fits an empty batch: FitsWhole said so.
  writers_[next.open_buffer].Append(record.ts_ns, record.wire_len, record.data, record.cap_len);
}

void BatchExporter::ExportFragments(Destination& destination, const ExportRecord& record) {
  // The pieces take consecutive seqs of this destination, right after the batch it had open,
  // so the analyzer finds them in order (SPEC.md §6.5).
  CloseBatch(destination);
  uint32_t offset = 0;
  while (offset < record.cap_len) {
    const int index = TakeBuffer();
    offset += static_cast<uint32_t>(
        writers_[index].WriteFragment(buffers_[index].get(), options_.payload_size, options_.node_id, epoch_,
                                      stream_, destination.next_seq++, mac_.has_value(), record.ts_ns,
                                      record.wire_len, record.data, record.cap_len, offset));
    buffer_destination_[index] = static_cast<size_t>(&destination - destinations_.data());
    buffer_epoch_[index] = epoch_;
    Ready(index);
  }
}

int BatchExporter::TakeBuffer() {
  if (free_buffers_.empty()) SendReady();
  const int index = free_buffers_.back();
  free_buffers_.pop_back();
  return index;
}

void BatchExporter::Ready(int index) {
  if (mac_) {
    HeaderBatchWriter& writer = writers_[index];
    mac_->Sign(writer.buffer(), writer.signed_length(), writer.buffer() + writer.signed_length());
  }
  ready_buffers_.push_back(index);
}

void BatchExporter::OpenBatch(Destination& destination, uint64_t now_ns) {
  const int index = TakeBuffer();
  writers_[index].Begin(buffers_[index].get(), options_.payload_size, options_.node_id, epoch_, stream_,
                        destination.next_seq++, mac_.has_value());
  buffer_destination_[index] = static_cast<size_t>(&destination - destinations_.data());
  buffer_epoch_[index] = epoch_;
  destination.open_buffer = index;
  destination.opened_ns = now_ns;
}

void BatchExporter::CloseBatch(Destination& destination) {
  if (destination.open_buffer < 0) return;
  Ready(destination.open_buffer);
  destination.open_buffer = -1;
  if (options_.mode == ExportMode::kRandom && !epoch_destinations_.empty()) {
    random_choice_ = rng_() % epoch_destinations_.size();
  }
}

void BatchExporter::CloseAllBatches() {
  for (Destination& destination : destinations_) CloseBatch(destination);
}

uint64_t BatchExporter::NextDeadlineNs() const {
  uint64_t deadline = 0;
  for (const Destination& destination : destinations_) {
    if (destination.open_buffer < 0) continue;
    const uint64_t due = destination.opened_ns + options_.flush_ns;
    if (deadline == 0 || due < deadline) deadline = due;
  }
  return deadline;
}

// Runs of ready batches for one analyzer with the same length (the last may be shorter) leave
// as one UDP GSO write: the kernel cuts it into the same datagrams at the segment size, so the
// analyzer receives exactly what single sends would give, for one pass through the socket
// layer. Full batches of fixed-size records (frames longer than the snaplen) all have one
// length, so that is the common case; any other batch is a run of one, sent plainly.
void BatchExporter::SendReady() {
  size_t next = 0;
  while (next < ready_buffers_.size()) {
    mmsghdr messages[kSendBatch];
    iovec vectors[kBufferPool];
    GsoControl controls[kSendBatch];
    size_t first[kSendBatch + 1];  // message m covers ready_buffers_[first[m] .. first[m + 1])
    size_t messages_used = 0, buffer = next;
    while (messages_used < kSendBatch && buffer < ready_buffers_.size()) {
      const size_t run = gso_ ? GsoRun(buffer) : 1;
      mmsghdr& message = messages[messages_used];
      std::memset(&message, 0, sizeof message);
      message.msg_hdr.msg_name = &destinations_[buffer_destination_[ready_buffers_[buffer]]].address;
      message.msg_hdr.msg_namelen = sizeof(sockaddr_in);
      message.msg_hdr.msg_iov = &vectors[buffer - next];
      message.msg_hdr.msg_iovlen = run;
      for (size_t i = 0; i < run; ++i) {
        const int index = ready_buffers_[buffer + i];
        vectors[buffer - next + i] = {buffers_[index].get(), writers_[index].length()};
      }
      if (run > 1) {
        GsoControl& control = controls[messages_used];
        std::memset(&control, 0, sizeof control);
        cmsghdr* header = &control.header;
        header->cmsg_level = IPPROTO_UDP;
        header->cmsg_type = UDP_SEGMENT;
        header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t segment = static_cast<uint16_t>(writers_[ready_buffers_[buffer]].length());
        std::memcpy(CMSG_DATA(header), &segment, sizeof segment);
        message.msg_hdr.msg_control = &control;
        message.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      }
      first[messages_used++] = buffer;
      buffer += run;
    }
    first[messages_used] = buffer;

    const int sent = sendmmsg(socket_, messages, static_cast<unsigned>(messages_used), 0);
    if (sent < 0 && errno == EINTR) continue;
    // sendmmsg stops at the first message the kernel refuses.
    const size_t delivered = sent < 0 ? 0 : static_cast<size_t>(sent);
    for (size_t m = 0; m < delivered; ++m) {
      for (size_t b = first[m]; b < first[m + 1]; ++b) CountSent(ready_buffers_[b]);
      if (first[m + 1] - first[m] > 1) gso_writes_.Increment();
    }
    next = first[delivered];
    if (delivered == messages_used) continue;
    const int error = errno;
    const bool gso_refused =
        first[delivered + 1] - first[delivered] > 1 &&
        (error == EIO || error == EINVAL || error == EMSGSIZE || error == EOPNOTSUPP || error == ENOPROTOOPT);
    if (gso_refused) {
      // The kernel or the NIC cannot segment (no checksum offload, a segment over the path
      // MTU, an old kernel): send every datagram on its own from now on, these included.
      gso_ = false;
      gso_fallbacks_.Increment();
      if (options_.warn) {
        options_.warn("export worker " + std::to_string(stream_) + ": the kernel refused UDP GSO (" +
                      std::strerror(error) + "); sending each header batch on its own from now on");
      }
      continue;
    }
    // Every datagram of the refused message is lost: the analyzer sees their seqs as a gap.
    last_send_errno_.store(error, std::memory_order_relaxed);
    for (size_t b = first[delivered]; b < first[delivered + 1]; ++b) {
      const int index = ready_buffers_[b];
      send_errors_.Increment();
      records_send_failed_.Add(writers_[index].records());
      ledger_.AddDropped(buffer_epoch_[index], writers_[index].records());
    }
    next = first[delivered + 1];
  }
  for (int index : ready_buffers_) free_buffers_.push_back(index);
  ready_buffers_.clear();
}

size_t BatchExporter::GsoRun(size_t from) const {
  const int head = ready_buffers_[from];
  const size_t segment = writers_[head].length();
  size_t run = 1, total = segment;
  while (from + run < ready_buffers_.size() && run < kGsoMaxSegments) {
    const int index = ready_buffers_[from + run];
    const size_t length = writers_[index].length();
    if (buffer_destination_[index] != buffer_destination_[head] || length > segment ||
        total + length > kGsoMaxBytes)
      break;
    total += length;
    ++run;
    if (length < segment) break;  // only the last segment may be shorter
  }
  return run;
}

void BatchExporter::CountSent(int index) {
  records_exported_.Add(writers_[index].records());
  bytes_sent_.Add(writers_[index].length());
  datagrams_sent_.Increment();
  ledger_.AddExported(buffer_epoch_[index], writers_[index].records());
}

}  // namespace dicap
