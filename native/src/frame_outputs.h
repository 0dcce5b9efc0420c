// Where the analyzer's frames go: one output, or K (--split) chosen per frame by the
// PROTOCOL.md §4 flow hash (symmetric, so both directions of a connection land on the same
// output, and each connection on exactly one), optionally merged into time order first
// (--reorder-ms). Outputs are files/FIFOs/standard output (file_output.h) or TAP
// interfaces (tap_output.h). Also keeps the flush timer, rotation ticks and SIGHUP reopen
// requests. The sink thread calls everything except RequestReopen(), RequestStop() and
// Counters(), which any thread may call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "file_output.h"
#include "frame_output.h"
#include "reorder_window.h"

namespace dicap {

enum class OutputKind : int { kFile = 0, kTap };

struct FrameOutputsOptions {
  OutputKind kind = OutputKind::kFile;
  std::string target;  // a path, "-" (standard output) or a TAP name
  uint32_t split = 1;  // outputs; with more than one, target gets the output's index (see OutputName)
  CaptureFormat format = CaptureFormat::kPcap;
  uint32_t snaplen = kPcapMaxSnaplen;
  RotationPolicy rotation;
  uint32_t flush_interval_ms = 100;  // longest time a record waits in a file buffer
  uint32_t buffer_bytes = 1u << 20;  // per file output
  uint32_t reorder_ms = 0;           // 0: arrival order
};

// The name of output `index` of `count`: the target itself for one; else a TAP name with the
// index appended (tap0, tap1), a path with the index before the file name's extension
// (cap.pcap → cap0.pcap, cap → cap0).
std::string OutputName(OutputKind kind, const std::string& target, uint32_t index, uint32_t count);

struct NamedOutputStatus {
  std::string name;
  OutputStatus status;
};

struct FrameOutputsCounters {
  OutputStatus total;  // sums; state: the most serious of the outputs' states
  std::vector<NamedOutputStatus> outputs;
  uint64_t reorder_late_records = 0;  // later than the window: written out of order
  uint64_t reorder_held_records = 0;  // waiting in the window now
};

class FrameOutputs {
 public:
  static constexpr size_t kReorderMaxBytes = 256u << 20;

  explicit FrameOutputs(const FrameOutputsOptions& options);

  // Throws OutputOpenError naming the output; on failure the ones opened are closed again.
  void Open(std::vector<std::string>* notices);
  void Write(const OutputFrame& frame, uint64_t now_ns);
  // Due work: releases reordered frames, flushes, rotates, retries FIFOs, reopens after
  // RequestReopen(). Returns how long the sink may sleep in poll() (ms, -1: until woken).
  int Service(uint64_t now_ns);
  void RequestReopen() { reopen_requested_.store(true, std::memory_order_relaxed); }
  void RequestStop();
  // Releases held frames, flushes, closes every output. Safe to call twice.
  void Close();
  FrameOutputsCounters Counters() const;

 private:
  void Route(const OutputFrame& frame);

  const uint64_t flush_interval_ns_;
  std::vector<std::unique_ptr<FrameOutput>> outputs_;
  std::unique_ptr<ReorderWindow> reorder_;
  std::atomic<bool> reopen_requested_{false};
  uint64_t last_flush_ns_ = 0;
};

}  // namespace dicap
