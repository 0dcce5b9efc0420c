#include "pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace dicap {

namespace {

constexpr int kPollSliceMs = 200;  // how often a blocked write looks at RequestStop()

void PutHost32(std::vector<uint8_t>& out, uint32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

void PutHost16(std::vector<uint8_t>& out, uint16_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 2);
}

}  // namespace

const char* OutputStateName(OutputState state) {
  switch (state) {
    case OutputState::kOpen: return "open";
    case OutputState::kReaderClosed: return "reader-closed";
    case OutputState::kFailed: return "failed";
    case OutputState::kStalled: return "stalled";
    case OutputState::kClosed: return "closed";
  }
  return "unknown";
}

PcapWriter::PcapWriter(size_t buffer_bytes)
    : threshold_(std::max(buffer_bytes, kPcapRecordHeaderSize + kPcapSnaplen)) {
  buffer_.reserve(threshold_);
}

PcapWriter::~PcapWriter() { Close(); }

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
  PutHost32(buffer_, kPcapNanosecondMagic);
  PutHost16(buffer_, 2);  // version 2.4
  PutHost16(buffer_, 4);
  PutHost32(buffer_, 0);  // thiszone: timestamps are UTC
  PutHost32(buffer_, 0);  // sigfigs
  PutHost32(buffer_, kPcapSnaplen);
  PutHost32(buffer_, kLinktypeEthernet);
  Flush();
}

void PcapWriter::Append(uint32_t ts_sec, uint32_t ts_nsec, uint32_t wire_len, const uint8_t* data, uint32_t cap_len) {
  if (state() != OutputState::kOpen) {
    records_unwritten_.Increment();
    return;
  }
  if (buffer_.size() + kPcapRecordHeaderSize + cap_len > threshold_) Flush();
  if (state() != OutputState::kOpen) {  // that flush ended the output
    records_unwritten_.Increment();
    return;
  }
  PutHost32(buffer_, ts_sec);
  PutHost32(buffer_, ts_nsec);
  PutHost32(buffer_, cap_len);   // incl_len
  PutHost32(buffer_, wire_len);  // orig_len (65535 from the agent means "65535 or more")
  buffer_.insert(buffer_.end(), data, data + cap_len);
  ++buffered_records_;
}

void PcapWriter::Flush() {
  if (buffer_.empty() || state() != OutputState::kOpen) return;
  if (WriteAll()) {
    records_written_.Add(buffered_records_);
  } else {
    records_unwritten_.Add(buffered_records_);
  }
  buffer_.clear();
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
  while (done < buffer_.size()) {
    if (!regular_file_ && !WaitWritable()) return false;
    const ssize_t n = write(fd_, buffer_.data() + done, std::min(buffer_.size() - done, max_write_));
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
    End(OutputState::kFailed, n < 0 ? errno : EIO);  // write() returning 0 for a non-empty buffer: treat as I/O error
    return false;
  }
  return true;
}

}  // namespace dicap
