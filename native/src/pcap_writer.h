// Writes captured frames as a capture file stream to a file descriptor: a file, or a pipe
// such as stdout feeding `tcpdump -r -`. Two formats:
//  - pcap: nanosecond (magic 0xa1b23c4d), LINKTYPE_ETHERNET, host byte order (readers detect
//    the order from the magic); the node a frame came from is not recorded.
//  - pcapng: one Section Header, then one Interface Description per capture node (named
//    `node-<ID>`, nanosecond if_tsresol) written just before that node's first frame, and one
//    Enhanced Packet per frame; a frame whose (node, epoch) differs from that node's previous
//    frame carries the comment `epoch N` (cheap: once per node and topology change).
// Both headers claim the snaplen given to Open(), and Append() cuts longer records to it, so
// the claim is true.
//
// Records collect in a buffer that goes out when it is full and whenever the owner calls
// Flush() (the analyzer does so about every 100 ms, so a pipe reader sees frames promptly).
// One thread appends and flushes; any thread may read the counters and the state.
// A reader that closes the pipe (EPIPE) ends the output in order; any other write error
// ends it as failed. Records that can no longer be written are counted, never lost silently.
// Open() may be called again after Close() (rotation, a FIFO's next reader): the counters
// keep counting, the state starts over.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "counter.h"

namespace dicap {

constexpr uint32_t kPcapNanosecondMagic = 0xa1b23c4d;
constexpr uint32_t kPcapMaxSnaplen = 65535;
constexpr uint32_t kLinktypeEthernet = 1;
constexpr size_t kPcapFileHeaderSize = 24;
constexpr size_t kPcapRecordHeaderSize = 16;

enum class CaptureFormat : int { kPcap = 0, kPcapng };

enum class OutputState : int {
  kOpen = 0,
  kReaderClosed,  // the reading end of the pipe went away (EPIPE): an orderly end
  kFailed,        // a write failed for another reason; error_number() says which
  kStalled,       // on stop, the reader took no data for kStallTimeoutMs, so we gave up
  kClosed,        // Close() after a normal run
  kNoReader,  // a FIFO with no reader (yet, or any more): records are counted unwritten until one opens it
};

const char* OutputStateName(OutputState state);

struct OutputStatus {
  OutputState state = OutputState::kOpen;
  int error_number = 0;
  uint64_t records_written = 0;
  uint64_t records_unwritten = 0;
  uint64_t bytes_written = 0;
  uint64_t write_errors = 0;
  uint64_t files = 0;  // files (or FIFO readers) opened so far, rotations and reopens included

  // The counts outputs add up (state and error_number are the most serious output's).
  template <typename Self>
  static auto Fields(Self& s) {
    return std::tie(s.records_written, s.records_unwritten, s.bytes_written, s.write_errors, s.files);
  }
};

// One frame on its way to an output: a header-batch record and the node that sent it.
struct OutputFrame {
  uint32_t node_id;
  uint32_t epoch;
  uint32_t ts_sec;
  uint32_t ts_nsec;
  uint32_t wire_len;
  uint32_t cap_len;
  const uint8_t* data;
};

class PcapWriter {
 public:
  // A writer is idle until Open(). `buffer_bytes` is the flush threshold (at least one
  // maximal record is always accepted).
  explicit PcapWriter(size_t buffer_bytes, CaptureFormat format = CaptureFormat::kPcap,
                      uint32_t snaplen = kPcapMaxSnaplen);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Takes ownership of `fd` (closed by Close()) and writes the file header at once, so
  // even a capture without frames is a valid capture file.
  void Open(int fd);
  // Appends one record: orig_len = wire_len, incl_len = min(cap_len, snaplen).
  void Append(const OutputFrame& frame);
  // The same for a frame of no particular node (pcapng: interface of node 0).
  void Append(uint32_t ts_sec, uint32_t ts_nsec, uint32_t wire_len, const uint8_t* data, uint32_t cap_len) {
    Append(OutputFrame{0, 0, ts_sec, ts_nsec, wire_len, cap_len, data});
  }
  // Writes out everything buffered, waiting for a slow pipe reader (see RequestStop()).
  void Flush();
  // Flushes, then closes the descriptor. Safe to call twice.
  void Close();
  // Any thread: from now on a write that makes no progress for kStallTimeoutMs gives up
  // (state kStalled), so stopping never hangs on a reader that stopped reading.
  void RequestStop() { stopping_.store(true, std::memory_order_relaxed); }
  // Counts a record that never reached this writer (its output had no descriptor).
  void CountUnwritten(uint64_t records) { records_unwritten_.Add(records); }
  // Marks a writer without descriptor as waiting for a FIFO reader.
  void SetNoReader() { End(OutputState::kNoReader, 0); }
  // Marks a writer that could not get a new descriptor (rotation) as failed.
  void SetFailed(int error_number) {
    write_errors_.Increment();
    End(OutputState::kFailed, error_number);
  }

  bool is_open() const { return fd_ >= 0; }
  bool has_buffered() const { return used_ > 0; }
  // Bytes of the current file (since the last Open), buffered ones included.
  uint64_t file_bytes() const { return file_bytes_; }

  // Any thread.
  OutputState state() const { return state_.load(std::memory_order_relaxed); }
  int error_number() const { return error_number_.load(std::memory_order_relaxed); }
  uint64_t records_written() const { return records_written_.Get(); }
  uint64_t records_unwritten() const { return records_unwritten_.Get(); }
  // Any thread; files is left 0 (the output that opens them counts those).
  OutputStatus Status() const {
    return {state(),
            error_number(),
            records_written(),
            records_unwritten(),
            bytes_written_.Get(),
            write_errors_.Get(),
            0};
  }

  static constexpr int kStallTimeoutMs = 2000;

 private:
  void Put(const void* bytes, size_t length);
  void PutZeros(size_t length);
  void PutOption(uint16_t code, const void* value, size_t length);
  void PutEndOfOptions();
  void PutFileHeader();
  // pcapng: the interface of `node_id` in this file, written first if it is new.
  uint32_t InterfaceOf(uint32_t node_id);
  // Writes all of `buffer_`; on failure sets the state and returns false.
  bool WriteAll();
  // Waits until the descriptor takes data; false when it gave up (stalled, on stop).
  bool WaitWritable();
  void End(OutputState state, int error_number);

  const CaptureFormat format_;
  const uint32_t snaplen_;
  int fd_ = -1;
  bool regular_file_ = false;
  size_t max_write_ = SIZE_MAX;  // bytes per write() call, see Open()
  size_t threshold_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t used_ = 0;
  uint64_t buffered_records_ = 0;
  uint64_t file_bytes_ = 0;
  struct NodeInterface {
    uint32_t id;
    uint32_t epoch;    // of the node's previous frame in this file
    bool epoch_known;  // false until the node's first frame carried its epoch comment
  };
  std::unordered_map<uint32_t, NodeInterface> interfaces_;  // pcapng, per file: node ID → interface
  std::atomic<bool> stopping_{false};
  std::atomic<OutputState> state_{OutputState::kOpen};
  std::atomic<int> error_number_{0};
  SingleWriterCounter records_written_;    // records whose bytes all reached the descriptor
  SingleWriterCounter records_unwritten_;  // records that never will (output ended or failed)
  SingleWriterCounter bytes_written_;      // file headers included
  SingleWriterCounter write_errors_;       // failed write() calls, EPIPE not included (an orderly end)
};

}  // namespace dicap
