// Writes captured frames as a nanosecond pcap stream (magic 0xa1b23c4d, LINKTYPE_ETHERNET,
// snaplen 65535, host byte order; readers detect the order from the magic) to a file
// descriptor: a file, or a pipe such as stdout feeding `tcpdump -r -`.
//
// Records collect in a buffer that goes out when it is full and whenever the owner calls
// Flush() (the analyzer does so about every 100 ms, so a pipe reader sees frames promptly).
// One thread appends and flushes; any thread may read the counters and the state.
// A reader that closes the pipe (EPIPE) ends the output in order; any other write error
// ends it as failed. Records that can no longer be written are counted, never lost silently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "counter.h"

namespace dicap {

constexpr uint32_t kPcapNanosecondMagic = 0xa1b23c4d;
constexpr uint32_t kPcapSnaplen = 65535;
constexpr uint32_t kLinktypeEthernet = 1;
constexpr size_t kPcapFileHeaderSize = 24;
constexpr size_t kPcapRecordHeaderSize = 16;

enum class OutputState : int {
  kOpen = 0,
  kReaderClosed,  // the reading end of the pipe went away (EPIPE): an orderly end
  kFailed,        // a write failed for another reason; error_number() says which
  kStalled,       // on stop, the reader took no data for kStallTimeoutMs, so we gave up
  kClosed,        // Close() after a normal run
};

const char* OutputStateName(OutputState state);

class PcapWriter {
 public:
  // A writer is idle until Open(). `buffer_bytes` is the flush threshold (at least one
  // maximal record, 16 + 65535 bytes, is always accepted).
  explicit PcapWriter(size_t buffer_bytes);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Takes ownership of `fd` (closed by Close()) and writes the file header at once, so
  // even a capture without frames is a valid pcap file.
  void Open(int fd);
  // Appends one record: orig_len = wire_len, incl_len = cap_len.
  void Append(uint32_t ts_sec, uint32_t ts_nsec, uint32_t wire_len, const uint8_t* data, uint32_t cap_len);
  // Writes out everything buffered, waiting for a slow pipe reader (see RequestStop()).
  void Flush();
  // Flushes, then closes the descriptor. Safe to call twice.
  void Close();
  // Any thread: from now on a write that makes no progress for kStallTimeoutMs gives up
  // (state kStalled), so stopping never hangs on a reader that stopped reading.
  void RequestStop() { stopping_.store(true, std::memory_order_relaxed); }

  bool has_buffered() const { return used_ > 0; }

  // Any thread.
  OutputState state() const { return state_.load(std::memory_order_relaxed); }
  int error_number() const { return error_number_.load(std::memory_order_relaxed); }
  uint64_t records_written() const { return records_written_.Get(); }
  uint64_t records_unwritten() const { return records_unwritten_.Get(); }
  uint64_t bytes_written() const { return bytes_written_.Get(); }
  uint64_t write_errors() const { return write_errors_.Get(); }

  static constexpr int kStallTimeoutMs = 2000;

 private:
  void Put(const void* bytes, size_t length);
  // Writes all of `buffer_`; on failure sets the state and returns false.
  bool WriteAll();
  // Waits until the descriptor takes data; false when it gave up (stalled, on stop).
  bool WaitWritable();
  void End(OutputState state, int error_number);

  int fd_ = -1;
  bool regular_file_ = false;
  size_t max_write_ = SIZE_MAX;  // bytes per write() call, see Open()
  size_t threshold_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t used_ = 0;
  uint64_t buffered_records_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<OutputState> state_{OutputState::kOpen};
  std::atomic<int> error_number_{0};
  SingleWriterCounter records_written_;    // records whose bytes all reached the descriptor
  SingleWriterCounter records_unwritten_;  // records that never will (output ended or failed)
  SingleWriterCounter bytes_written_;      // file header included
  SingleWriterCounter write_errors_;       // failed write() calls, EPIPE not included (an orderly end)
};

}  // namespace dicap
