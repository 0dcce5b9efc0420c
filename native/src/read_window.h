// A file read front to back with read() into one buffer, for parsers that look at a few
// bytes (a record header), then at a whole record, then move on: the capture file reader.
//
// Why read() and not mmap: a mapped file that another process truncates raises SIGBUS on
// the next touch of a page past the new end, and that kills the whole process (issue 11
// case 8). With read() a shrinking file is only an early end of file, which the parser
// reports as an error. The cost is one copy of the bytes from the page cache, in large
// reads (kDefaultChunk), and a memmove of the one partial record left at the end of the
// buffer each refill; records are handed out as pointers into the buffer, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dicap {

class ReadWindow {
 public:
  // 256 KiB: large enough that read() calls cost nothing per frame, small enough that the
  // bytes just copied are still in the L2 cache when they are parsed (measured: reading
  // costs as much CPU per frame as the mapping did; 1 and 2 MiB chunks cost more).
  static constexpr size_t kDefaultChunk = size_t{1} << 18;

  // `chunk`: the buffer's starting size and the least it asks read() for. Tests and the
  // fuzzers use tiny chunks so that every refill and growth path runs.
  explicit ReadWindow(size_t chunk = kDefaultChunk) : chunk_(chunk < 16 ? 16 : chunk) {}
  ~ReadWindow();
  ReadWindow(const ReadWindow&) = delete;
  ReadWindow& operator=(const ReadWindow&) = delete;

  // Takes ownership of `fd` (closed by Close() or the destructor); reading starts at the
  // descriptor's current position, which counts as offset 0.
  void Reset(int fd);
  void Close();

  // Makes at least `n` bytes from the current position available at data(), reading and
  // growing the buffer as needed. Returns how many are available: fewer than `n` only at
  // the end of the file or on a read error (error_number() != 0). Invalidates pointers
  // from earlier data() calls when it has to read.
  size_t Ensure(size_t n) { return end_ - begin_ >= n ? end_ - begin_ : Refill(n); }
  const uint8_t* data() const { return buffer_.get() + begin_; }
  // Moves the current position forward by `n` bytes, which must be available.
  void Consume(size_t n) {
    begin_ += n;
    offset_ += n;
  }
  // Moves forward by `n` bytes whether or not they fit the buffer (reading and dropping
  // them). Returns false at the end of the file or on a read error, having consumed all
  // there was.
  bool Skip(uint64_t n);

  // Bytes read and not yet consumed.
  size_t available() const { return end_ - begin_; }
  // Offset of the current position from where reading started.
  uint64_t offset() const { return offset_; }
  // errno of the read() that failed, 0 if none has.
  int error_number() const { return error_number_; }

 private:
  size_t Refill(size_t n);
  // One read() into the free end of the buffer; false at the end of the file or on error.
  bool Fill();

  const size_t chunk_;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // current position in buffer_
  size_t end_ = 0;    // end of the bytes read into buffer_
  uint64_t offset_ = 0;
  bool eof_ = false;
  int error_number_ = 0;
};

}  // namespace dicap
