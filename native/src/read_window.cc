#include "read_window.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dicap {

ReadWindow::~ReadWindow() {
  Close();
}

void ReadWindow::Reset(int fd) {
  Close();
  fd_ = fd;
  if (capacity_ != chunk_) {
    buffer_.reset(new uint8_t[chunk_]);
    capacity_ = chunk_;
  }
}

void ReadWindow::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  begin_ = end_ = 0;
  offset_ = 0;
  eof_ = false;
  error_number_ = 0;
}

size_t ReadWindow::Refill(size_t n) {
  while (end_ - begin_ < n && Fill()) {
  }
  return end_ - begin_;
}

bool ReadWindow::Skip(uint64_t n) {
  for (;;) {
    const size_t available = end_ - begin_;
    if (n <= available) {
      Consume(static_cast<size_t>(n));
      return true;
    }
    Consume(available);
    n -= available;
    begin_ = end_ = 0;  // nothing worth keeping: read into the whole buffer
    if (!Fill()) return false;
  }
}

bool ReadWindow::Fill() {
  if (eof_ || error_number_ != 0 || fd_ < 0) return false;
  const size_t available = end_ - begin_;
  if (begin_ > 0 && (capacity_ - end_ < chunk_ / 2 || available == 0)) {
    // Keep the unread tail (at most one partial record) and make room behind it.
    std::memmove(buffer_.get(), buffer_.get() + begin_, available);
    begin_ = 0;
    end_ = available;
  }
  if (capacity_ - end_ < chunk_ / 2) {
    // One record is larger than half the buffer: grow so it and a chunk fit.
    const size_t capacity = capacity_ * 2;
    std::unique_ptr<uint8_t[]> grown(new uint8_t[capacity]);
    std::memcpy(grown.get(), buffer_.get() + begin_, available);
    buffer_ = std::move(grown);
    capacity_ = capacity;
    begin_ = 0;
    end_ = available;
  }
  for (;;) {
    const ssize_t got = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
    if (got > 0) {
      end_ += static_cast<size_t>(got);
      return true;
    }
    if (got == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    error_number_ = errno;
    return false;
  }
}

}  // namespace dicap
