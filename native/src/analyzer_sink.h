// The analyzer's receive path: one thread that reads SPEC.md §3 header-batch datagrams from
// a UDP socket with recvmmsg, reads them (header_batch.h), checks their MAC when it has a
// key, hands them to the accounting (batch_accounting.h: admission, sequence, reassembly)
// and hands every good record to its outputs (frame_outputs.h: capture files, FIFOs, TAP
// interfaces). Every drop is counted by reason. JavaScript only starts, stops, asks for a
// reopen, passes topologies and reads counters (a few times a second).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "batch_accounting.h"
#include "counter.h"
#include "frame_outputs.h"
#include "header_batch.h"
#include "header_batch_mac.h"

namespace dicap {

// Why a datagram was dropped: the reader's reasons (header_batch.h), then the sink's own.
enum class DropReason : int {
  // kShort … kBadFragment: BatchReject, same values.
  kOversized = static_cast<int>(kBatchReaderRejectCount),  // larger than the receive slot (truncated)
  kUnauthenticated,                                        // no MAC, while this analyzer has a cluster key
  kBadMac,                                                 // the MAC does not verify
  kUnknownNode,                                            // not a node of the topology
  kNodeLimit,    // no topology, and the node table is full of nodes heard within the idle time
  kStreamLimit,  // the node already has the most streams allowed
};
constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kStreamLimit) + 1;
const char* DropReasonName(size_t reason);

// ---- the sink ----------------------------------------------------------------------------

struct AnalyzerSinkOptions {
  std::string host;                           // IPv4 dotted quad to bind
  uint16_t port = 0;                          // 0: any free port (see bound_port())
  uint32_t receive_buffer_bytes = 32u << 20;  // SO_RCVBUF(FORCE) request
  FrameOutputsOptions outputs;
  std::optional<std::array<uint8_t, kBatchKeySize>> batch_key;  // with it, only authentic datagrams count
  AccountingLimits limits;
};

struct AnalyzerSinkCounters {
  uint64_t datagrams = 0;                            // received, malformed included
  uint64_t bytes = 0;                                // UDP payload bytes received
  std::array<uint64_t, kDropReasonCount> dropped{};  // datagrams, by reason
  AccountingTotals accounting;
  uint64_t socket_drops = 0;        // datagrams the kernel dropped (socket buffer full), from SO_RXQ_OVFL
  uint64_t coalesced_messages = 0;  // receives that held several datagrams merged by UDP GRO
  bool gro = false;                 // the kernel accepted UDP_GRO on the socket
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
  // Any thread: accept only these capture nodes (SPEC.md §6.5); see BatchAccounting.
  void SetTopologyNodes(const std::vector<uint32_t>& nodes);

 private:
  struct Slots;  // recvmmsg buffers

  void OpenSocket();
  void OpenOutput(std::vector<std::string>* notices);
  void CloseAll();
  void Run();
  // Reads queued datagrams, at most `max_batches` recvmmsg calls; false when the queue is empty.
  bool ReceiveQueued(int max_batches);
  // Reads, authenticates, accounts and writes one recvmmsg batch of `count` datagrams.
  void HandleBatch(unsigned count);
  void HandleDatagram(const uint8_t* data, size_t length, bool truncated);
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
  std::array<SingleWriterCounter, kDropReasonCount> dropped_;
  SingleWriterCounter socket_drops_;
  SingleWriterCounter coalesced_messages_;
  bool gro_ = false;               // set before the thread starts
  uint32_t last_drop_report_ = 0;  // SO_RXQ_OVFL is a wrapping u32 running total
  std::optional<HeaderBatchMac> mac_;
  BatchAccounting accounting_;
};

}  // namespace dicap
