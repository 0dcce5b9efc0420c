#include "pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace dicap {

namespace {

constexpr int kPollSliceMs = 200;  // how often a blocked write looks at RequestStop()

// The on-disk headers, in host byte order (readers detect it from the magic).
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

}  // namespace

const char* OutputStateName(OutputState state) {
  switch (state) {
    case OutputState::kOpen:
      return "open";
    case OutputState::kReaderClosed:
      return "reader-closed";
    case OutputState::kFailed:
      return "failed";
    case OutputState::kStalled:
      return "stalled";
    case OutputState::kClosed:
      return "closed";
  }
  return "unknown";
}

PcapWriter::PcapWriter(size_t buffer_bytes)
    : threshold_(std::max(buffer_bytes, kPcapRecordHeaderSize + kPcapSnaplen)),
      buffer_(new uint8_t[threshold_]) {}

void PcapWriter::Put(const void* bytes, size_t length) {
  std::memcpy(buffer_.get() + used_, bytes, length);
  used_ += length;
}

PcapWriter::~PcapWriter() {
  Close();
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
  const PcapFileHeader header{kPcapNanosecondMagic, 2, 4, 0, 0, kPcapSnaplen, kLinktypeEthernet};
  Put(&header, sizeof header);
  Flush();
}

void PcapWriter::Append(uint32_t ts_sec, uint32_t ts_nsec, uint32_t wire_len, const uint8_t* data,
                        uint32_t cap_len) {
  if (state() != OutputState::kOpen) {
    records_unwritten_.Increment();
    return;
  }
  if (used_ + kPcapRecordHeaderSize + cap_len > threshold_) Flush();
  if (state() != OutputState::kOpen) {  // that flush ended the output
    records_unwritten_.Increment();
    return;
  }
  // orig_len is the agent's wire_len, where 65535 means "65535 or more".
  const PcapRecordHeader header{ts_sec, ts_nsec, cap_len, wire_len};
  Put(&header, sizeof header);
  Put(data, cap_len);
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
