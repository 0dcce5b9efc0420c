// One export worker (`--workers W`, one per core by default): a thread that drains its
// FrameQueue into a BatchExporter, so that batching, the MAC and the sends run beside the
// capture thread instead of on it.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "batch_exporter.h"
#include "epoch_ledger.h"
#include "frame_queue.h"
#include "topology_registry.h"

namespace dicap {

class ExportWorker {
 public:
  ExportWorker(uint16_t stream, const ExportOptions& options, const TopologyRegistry& topologies,
               EpochLedger& ledger);
  ~ExportWorker();
  ExportWorker(const ExportWorker&) = delete;
  ExportWorker& operator=(const ExportWorker&) = delete;

  FrameQueue& queue() { return queue_; }
  // Throws std::runtime_error naming the failing syscall.
  void Start();
  // Drains what is queued, sends every open batch, joins. Safe to call twice.
  void Stop();
  ExportCounters counters() const { return exporter_.counters(); }

 private:
  void Run();

  const int cpu_;
  FrameQueue queue_;
  BatchExporter exporter_;  // used by the worker thread only
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace dicap
