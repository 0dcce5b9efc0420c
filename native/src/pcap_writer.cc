#include "pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "named_values.h"

namespace dicap {

namespace {

constexpr int kPollSliceMs = 200;  // how often a blocked write looks at RequestStop()
// Room for the largest record in either format with its epoch comment and a new
// interface's description before it.
constexpr size_t kMaxRecordBytes = 1024 + kPcapMaxSnaplen;

// The pcap on-disk headers, in host byte order (readers detect it from the magic).
struct PcapFileHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;  // timestamps are UTC
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};
struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_nsec;
  uint32_t incl_len;
  uint32_t orig_len;
};
static_assert(sizeof(PcapFileHeader) == kPcapFileHeaderSize &&
                  sizeof(PcapRecordHeader) == kPcapRecordHeaderSize,
              "pcap headers must have their on-disk size");

// pcapng (draft-ietf-opsawg-pcapng), host byte order (readers detect it from the byte-order magic).
constexpr uint32_t kPcapngSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kPcapngInterfaceDescription = 1;
constexpr uint32_t kPcapngEnhancedPacket = 6;
constexpr uint32_t kPcapngByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsresol = 9;
constexpr uint8_t kNanosecondResolution = 9;  // 10^-9 s
constexpr size_t kPcapngEnhancedPacketFixed =
    32;  // type, length, interface, ts (2), caplen, origlen + trailing length

size_t Pad4(size_t n) {
  return (4 - n % 4) % 4;
}

size_t OptionBytes(size_t value_length) {
  return 4 + value_length + Pad4(value_length);
}

}  // namespace

const char* OutputStateName(OutputState state) {
  static constexpr NamedValue<OutputState> kNames[] = {
      {OutputState::kOpen, "open"},     {OutputState::kReaderClosed, "reader-closed"},
      {OutputState::kFailed, "failed"}, {OutputState::kStalled, "stalled"},
      {OutputState::kClosed, "closed"}, {OutputState::kNoReader, "no-reader"}};
  return NameOf(kNames, state, "unknown");
}

PcapWriter::PcapWriter(size_t buffer_bytes, CaptureFormat format, uint32_t snaplen)
    : format_(format),
      snaplen_(snaplen == 0 || snaplen > kPcapMaxSnaplen ? kPcapMaxSnaplen : snaplen),
      threshold_(std::max(buffer_bytes, kMaxRecordBytes)),
      buffer_(new uint8_t[threshold_]) {}

void PcapWriter::Put(const void* bytes, size_t length) {
  std::memcpy(buffer_.get() + used_, bytes, length);
  used_ += length;
  file_bytes_ += length;
}

void PcapWriter::PutZeros(size_t length) {
  std::memset(buffer_.get() + used_, 0, length);
  used_ += length;
  file_bytes_ += length;
}

// A pcapng option: code, length, value, padding to 32 bits.
void PcapWriter::PutOption(uint16_t code, const void* value, size_t length) {
  const uint16_t header[2] = {code, static_cast<uint16_t>(length)};
  Put(header, sizeof header);
  Put(value, length);
  PutZeros(Pad4(length));
}

void PcapWriter::PutEndOfOptions() {
  const uint16_t end[2] = {kOptEnd, 0};
  Put(end, sizeof end);
}

PcapWriter::~PcapWriter() {
  Close();
}

void PcapWriter::PutFileHeader() {
  if (format_ == CaptureFormat::kPcap) {
    const PcapFileHeader header{kPcapNanosecondMagic, 2, 4, 0, 0, snaplen_, kLinktypeEthernet};
    Put(&header, sizeof header);
    return;
  }
  static const char kApplication[] = "dicap analyzer";
  const uint32_t length = static_cast<uint32_t>(28 + OptionBytes(sizeof kApplication - 1) + 4);
  const uint32_t fixed[3] = {kPcapngSectionHeader, length, kPcapngByteOrderMagic};
  const uint16_t version[2] = {1, 0};
  const int64_t section_length = -1;  // unknown: written as a stream
  Put(fixed, sizeof fixed);
  Put(version, sizeof version);
  Put(&section_length, sizeof section_length);
  PutOption(kShbUserAppl, kApplication, sizeof kApplication - 1);
  PutEndOfOptions();
  Put(&length, sizeof length);
}

uint32_t PcapWriter::InterfaceOf(uint32_t node_id) {
  auto found = interfaces_.find(node_id);
  if (found != interfaces_.end()) return found->second.id;
  const uint32_t id = static_cast<uint32_t>(interfaces_.size());
  interfaces_.emplace(node_id, NodeInterface{id, 0, false});
  char name[24];
  const size_t name_length = static_cast<size_t>(std::snprintf(name, sizeof name, "node-%u", node_id));
  const uint32_t length = static_cast<uint32_t>(16 + OptionBytes(name_length) + OptionBytes(1) + 4 + 4);
  const uint32_t fixed[2] = {kPcapngInterfaceDescription, length};
  const uint16_t link[2] = {static_cast<uint16_t>(kLinktypeEthernet), 0};
  Put(fixed, sizeof fixed);
  Put(link, sizeof link);
  Put(&snaplen_, sizeof snaplen_);
  PutOption(kIfName, name, name_length);
  PutOption(kIfTsresol, &kNanosecondResolution, 1);
  PutEndOfOptions();
  Put(&length, sizeof length);
  return id;
}

void PcapWriter::Open(int fd) {
  fd_ = fd;
  // A regular file takes every write at once. A pipe or terminal may block forever if its
  // reader stops, and stop must not hang: we wait in poll() (which watches RequestStop())
  // and then write no more than poll promised room for: PIPE_BUF bytes when the descriptor
  // blocks, anything when it is non-blocking (Node may have made stdout so).
  struct stat st;
  regular_file_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const int flags = fcntl(fd, F_GETFL);
  const bool non_blocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
  max_write_ = regular_file_ || non_blocking ? SIZE_MAX : PIPE_BUF;
  used_ = 0;
  buffered_records_ = 0;
  file_bytes_ = 0;
  interfaces_.clear();
  End(OutputState::kOpen, 0);
  PutFileHeader();
  Flush();
}

void PcapWriter::Append(const OutputFrame& frame) {
  if (state() != OutputState::kOpen) {
    records_unwritten_.Increment();
    return;
  }
  const uint32_t cap_len = std::min(frame.cap_len, snaplen_);
  if (used_ + kMaxRecordBytes > threshold_) Flush();
  if (state() != OutputState::kOpen) {  // that flush ended the output
    records_unwritten_.Increment();
    return;
  }
  // orig_len is the agent's wire_len, where 65535 means "65535 or more".
  if (format_ == CaptureFormat::kPcap) {
    const PcapRecordHeader header{frame.ts_sec, frame.ts_nsec, cap_len, frame.wire_len};
    Put(&header, sizeof header);
    Put(frame.data, cap_len);
  } else {
    const uint32_t interface = InterfaceOf(frame.node_id);
    NodeInterface& node = interfaces_[frame.node_id];
    char comment[24];
    size_t comment_length = 0;
    if (!node.epoch_known || node.epoch != frame.epoch) {
      comment_length = static_cast<size_t>(std::snprintf(comment, sizeof comment, "epoch %u", frame.epoch));
      node.epoch = frame.epoch;
      node.epoch_known = true;
    }
    const size_t options = comment_length != 0 ? OptionBytes(comment_length) + 4 : 0;
    const uint32_t length =
        static_cast<uint32_t>(kPcapngEnhancedPacketFixed + cap_len + Pad4(cap_len) + options);
    const uint64_t ts = uint64_t{frame.ts_sec} * 1000000000u + frame.ts_nsec;
    const uint32_t fixed[7] = {
        kPcapngEnhancedPacket,     length,  interface,     static_cast<uint32_t>(ts >> 32),
        static_cast<uint32_t>(ts), cap_len, frame.wire_len};
    Put(fixed, sizeof fixed);
    Put(frame.data, cap_len);
    PutZeros(Pad4(cap_len));
    if (comment_length != 0) {
      PutOption(kOptComment, comment, comment_length);
      PutEndOfOptions();
    }
    Put(&length, sizeof length);
  }
  ++buffered_records_;
}

void PcapWriter::Flush() {
  if (used_ == 0 || state() != OutputState::kOpen) return;
  if (WriteAll()) {
    records_written_.Add(buffered_records_);
  } else {
    records_unwritten_.Add(buffered_records_);
  }
  used_ = 0;
  buffered_records_ = 0;
}

void PcapWriter::Close() {
  if (fd_ < 0) return;
  Flush();
  if (state() == OutputState::kOpen) End(OutputState::kClosed, 0);
  close(fd_);
  fd_ = -1;
}

void PcapWriter::End(OutputState state, int error_number) {
  error_number_.store(error_number, std::memory_order_relaxed);
  state_.store(state, std::memory_order_relaxed);
}

bool PcapWriter::WaitWritable() {
  int idle_ms = 0;
  for (;;) {
    pollfd p{fd_, POLLOUT, 0};
    const int ready = poll(&p, 1, kPollSliceMs);
    if (ready != 0) return true;  // writable, or an error (also of poll) that write() will report
    idle_ms += kPollSliceMs;
    if (stopping_.load(std::memory_order_relaxed) && idle_ms >= kStallTimeoutMs) {
      End(OutputState::kStalled, 0);
      return false;
    }
  }
}

bool PcapWriter::WriteAll() {
  size_t done = 0;
  while (done < used_) {
    if (!regular_file_ && !WaitWritable()) return false;
    const ssize_t n = write(fd_, buffer_.get() + done, std::min(used_ - done, max_write_));
    if (n > 0) {  // possibly partial: write the rest
      done += static_cast<size_t>(n);
      bytes_written_.Add(static_cast<uint64_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0 && errno == EPIPE) {
      End(OutputState::kReaderClosed, 0);  // not an error: the reader is done
      return false;
    }
    write_errors_.Increment();
    End(OutputState::kFailed,
        n < 0 ? errno : EIO);  // write() returning 0 for a non-empty buffer: treat as I/O error
    return false;
  }
  return true;
}

}  // namespace dicap
