// The analyzer's receive path: one thread that reads SPEC.md §3 header-batch datagrams
// from a UDP socket with recvmmsg, rejects malformed ones (counted by reason), accounts the
// sequence of every (node, stream) and hands every record of every accepted datagram to
// its outputs (frame_outputs.h: capture files, FIFOs, TAP interfaces). JavaScript only
// starts, stops, asks for a reopen and reads counters (a few times a second).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "counter.h"
#include "frame_outputs.h"

namespace dicap {

// ---- one datagram ------------------------------------------------------------------------

// Why a datagram was rejected. The names are protocol/header-batch.ts's error codes, plus
// OVERSIZED for a datagram larger than the receive slot (the kernel truncated it).
enum class BatchReject : int {
  kShort,
  kBadMagic,
  kBadVersion,
  kBadFlags,
  kBadReserved,
  kRecordOverrun,
  kCountMismatch,
  kBadRecord,
  kTrailingBytes,
  kOversized,
};
constexpr size_t kBatchRejectCount = static_cast<size_t>(BatchReject::kOversized) + 1;
const char* BatchRejectName(BatchReject reason);

struct BatchHeader {
  uint32_t node_id;
  uint32_t epoch;
  uint16_t stream;
  uint16_t count;  // records
  uint64_t seq;
};

// Checks a whole datagram, header and every record, never reading past `length`.
// Returns the reason it is malformed, or nothing (and fills `header`) when it is good.
std::optional<BatchReject> ValidateHeaderBatch(const uint8_t* data, size_t length, BatchHeader* header);

// ---- sequence accounting -----------------------------------------------------------------

enum class SeqVerdict {
  kInOrder,    // the expected seq
  kNewRun,     // the first datagram seen, or the sender restarted (seq 0, or a new epoch with a lower seq)
  kGap,        // later than expected: the datagrams in between are counted as a gap
  kLate,       // arrived after a later one, filling a gap counted before
  kDuplicate,  // seen before, or too old to tell
};

// The sequence of one (node, stream). The agent numbers datagrams per (node, stream,
// analyzer) from 0, so each analyzer sees a contiguous sequence; epochs may change
// mid-run (a new topology) while seq continues.
class StreamSequence {
 public:
  // Window of recent seqs in which a late arrival is told apart from a duplicate.
  static constexpr uint64_t kWindow = 1024;

  // `gap` receives how many datagrams this one reveals as missing (kGap; kNewRun of a
  // restarted sender whose first datagrams did not arrive), else 0.
  SeqVerdict Account(uint32_t epoch, uint64_t seq, uint64_t* gap);
  uint32_t epoch() const { return epoch_; }

 private:
  void StartRun(uint32_t epoch, uint64_t seq);
  void MarkMissing(uint64_t from, uint64_t to);  // [from, to)
  bool Missing(uint64_t seq) const { return (missing_[(seq % kWindow) / 64] >> (seq % 64)) & 1; }
  void SetMissing(uint64_t seq, bool missing);

  bool started_ = false;
  uint32_t epoch_ = 0;  // epoch of the highest seq
  uint64_t next_ = 0;   // highest seq seen + 1
  // Bit (seq % kWindow) for seq in [next_ - kWindow, next_): counted in a gap and not yet arrived.
  std::array<uint64_t, kWindow / 64> missing_{};
};

// ---- the sink ----------------------------------------------------------------------------

struct AnalyzerSinkOptions {
  std::string host;                           // IPv4 dotted quad to bind
  uint16_t port = 0;                          // 0: any free port (see bound_port())
  uint32_t receive_buffer_bytes = 32u << 20;  // SO_RCVBUF(FORCE) request
  FrameOutputsOptions outputs;
};

struct NodeCounters {
  uint32_t node_id = 0;
  uint32_t last_epoch = 0;           // epoch of the node's most recent datagram in sequence
  uint32_t streams = 0;              // distinct streams seen
  uint64_t datagrams = 0;            // valid datagrams, duplicates included
  uint64_t records = 0;              // records in them
  uint64_t bytes = 0;                // UDP payload bytes of them
  uint64_t gap_datagrams = 0;        // seqs skipped (export loss, until they arrive late)
  uint64_t late_datagrams = 0;       // arrived after being counted in a gap (written)
  uint64_t duplicate_datagrams = 0;  // seen before or too old to tell (not written)
  uint64_t duplicate_records = 0;
  uint64_t runs = 0;  // sequence starts: first datagram seen, sender restarts
};

struct AnalyzerSinkCounters {
  uint64_t datagrams = 0;  // received, malformed included
  uint64_t bytes = 0;      // UDP payload bytes received
  uint64_t records = 0;    // records in valid datagrams
  std::array<uint64_t, kBatchRejectCount> malformed{};
  uint64_t socket_drops = 0;  // datagrams the kernel dropped (socket buffer full), from SO_RXQ_OVFL
  FrameOutputsCounters output;
  uint32_t receive_buffer_bytes = 0;  // what the kernel granted
  std::vector<NodeCounters> nodes;    // by node ID
};

// Start/Stop failures, with the DICAP_ERR_* code the bindings throw.
class SinkError : public std::runtime_error {
 public:
  SinkError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

class AnalyzerSink {
 public:
  explicit AnalyzerSink(AnalyzerSinkOptions options);
  ~AnalyzerSink();
  AnalyzerSink(const AnalyzerSink&) = delete;
  AnalyzerSink& operator=(const AnalyzerSink&) = delete;

  // socket → receive buffer → bind → output → thread. Binding comes before opening the
  // output so that a port already in use does not truncate an existing file. Throws
  // SinkError naming the failing call; a failed Start leaves nothing open. Once only.
  // Returns lines a person should read (an existing capture moved aside, a TAP created).
  std::vector<std::string> Start();
  // Stops the thread after it has read what is queued on the socket, flushes and closes
  // the output. Safe to call twice; before Start it retires the instance (Start then fails).
  void Stop();
  // SIGHUP: every file output starts a new file (the current one moved aside). Any thread.
  void Reopen();
  // Any thread. Valid after Start.
  uint16_t bound_port() const { return bound_port_; }
  AnalyzerSinkCounters Counters() const;

 private:
  struct Slots;  // recvmmsg buffers

  void OpenSocket();
  void OpenOutput(std::vector<std::string>* notices);
  void CloseAll();
  void Run();
  // Reads queued datagrams, at most `max_batches` recvmmsg calls; false when the queue is empty.
  bool ReceiveQueued(int max_batches);
  // Accounts and writes one recvmmsg batch of `count` datagrams.
  void HandleBatch(unsigned count);
  void NoteSocketDrops(uint32_t cumulative);

  const AnalyzerSinkOptions options_;
  enum class Phase { kIdle, kRunning, kStopped } phase_ = Phase::kIdle;
  int socket_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the thread out of poll()
  uint16_t bound_port_ = 0;
  uint32_t granted_receive_buffer_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::unique_ptr<Slots> slots_;
  FrameOutputs outputs_;

  // Written by the sink thread only.
  SingleWriterCounter datagrams_;
  SingleWriterCounter bytes_;
  SingleWriterCounter records_;
  std::array<SingleWriterCounter, kBatchRejectCount> malformed_;
  SingleWriterCounter socket_drops_;
  uint32_t last_drop_report_ = 0;  // SO_RXQ_OVFL is a wrapping u32 running total

  // Sequence state and per-node counters, guarded for Counters().
  mutable std::mutex accounting_mutex_;
  std::unordered_map<uint64_t, StreamSequence> streams_;  // key: node ID << 16 | stream
  std::map<uint32_t, NodeCounters> nodes_;
};

}  // namespace dicap
