// The capture engine: one capture thread reads a source (live ring or capture file) in
// wire order and runs selection; owned frames are copied (headers only) into the queue of
// one of W export workers, chosen by flow hash so a connection stays on one worker.
//
//   source ──► Selector ──► FrameQueue[w] ──► ExportWorker[w] ──sendmmsg──► analyzers
//
// Pure C++: no napi here. engine_bindings.cc wraps it for JavaScript, and events reach JS
// through the EventSink callback, a few times per run, never per frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture_file.h"
#include "counter.h"
#include "epoch_ledger.h"
#include "export_worker.h"
#include "frame_sink.h"
#include "ring_source.h"
#include "selector.h"
#include "topology_registry.h"

namespace dicap {

struct EngineOptions {
  uint32_t node_id = 0;
  std::vector<uint8_t> cluster_key;  // authenticates in-band topology frames
  uint32_t workers = 1;
  uint32_t snaplen = 128;
  ExportOptions export_options;  // node_id and snaplen are filled in from above
  // Exactly one source: a live interface (ring.interface non-empty) or a capture file.
  RingOptions ring;
  std::string file_path;
  bool realtime = false;  // file source: pace frames by their timestamps
};

struct EngineEvent {
  enum class Kind { kTopology, kEnd, kError } kind;
  std::string message;   // kError: one line
  TopologyPtr topology;  // kTopology
  bool inband = false;   // kTopology: adopted from an in-band frame
};

struct EngineCounters {
  // source
  uint64_t frames, bytes;  // frames the source delivered, and their wire bytes
  uint64_t source_errors;  // times the source failed (each also an EngineEvent::kError line)
  RingStats ring;          // live source only
  // selection
  uint64_t control_frames, inband_rejected, unassigned, seen, owned, not_owned;
  // hand-off to workers
  uint64_t queued, queue_full_drops;
  // export (summed over workers)
  uint64_t records_exported, datagrams_sent, bytes_sent, send_errors, records_send_failed,
      records_no_analyzer;
  int last_send_errno;
  std::vector<ExportWorkerCounters> per_worker;
  std::vector<EpochCounts> epochs;
  IpidHistogram ipid_owned;  // owned IPv4 frames by Identification >> 8 (selector.h)
  int32_t position;
  uint32_t epoch;
  bool has_topology;
};

class Engine : private FrameSink {
 public:
  using EventSink = std::function<void(EngineEvent)>;

  Engine(const EngineOptions& options, EventSink events);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens the source and starts the threads. Throws std::runtime_error with a one-line
  // message (interface missing, not Ethernet, permission, ...); nothing keeps running then.
  void Start();
  // Any thread; see Selector::Offer.
  void Offer(TopologyPtr topology) { selector_.Offer(std::move(topology)); }
  // Stops reading, drains the queues, sends every open batch, joins. Safe to call twice.
  void Stop();
  EngineCounters Counters();

 private:
  void OnFrame(const SourceFrame& frame) override;
  void RunFile();
  void RunRing();
  void StopWorkers();
  void Emit(EngineEvent event);

  const EngineOptions options_;
  const EventSink events_;
  Selector selector_;
  TopologyRegistry topologies_;
  EpochLedger ledger_;
  std::vector<std::unique_ptr<ExportWorker>> workers_;
  RingSource ring_;
  CaptureFile file_;
  std::thread capture_thread_;
  std::atomic<bool> stop_requested_{false};
  bool workers_stopped_ = false;
  uint32_t effective_snaplen_;

  // Written by the capture thread only.
  SingleWriterCounter frames_, bytes_, source_errors_, control_frames_, unassigned_, seen_, owned_,
      not_owned_, queued_, queue_full_drops_;
};

}  // namespace dicap
