// The capture engine: K capture threads (lanes, capture_lane.h) each read one source — a
// ring of one PACKET_FANOUT group, or the capture file (always one lane) — and run
// selection; owned frames are copied (headers only) into the queue of one of the lane's
// export workers, chosen by flow hash so a connection stays on one worker, or (workers 0)
// batched and sent by the lane's own thread.
//
//   ring 0 ──► Selector ──► FrameQueue[w] ──► ExportWorker[w] ──sendmmsg──► analyzers
//   ring 1 ──► Selector ──► …                 (workers split among the lanes)
//
// Topologies are offered to every lane and each comes into force, lane by lane, at the first
// frame stamped at or after its validity start (frame time), so every frame gets the same
// topology whichever lane reads it. An in-band topology frame reaches one lane only: that
// lane adopts it and offers it to the others with the frame's time as validity start.
// Round-robin needs one thread that sees the whole wire order: with K > 1 a round-robin
// topology is refused (one error event; its frames are counted as unassigned).
//
// Pure C++: no napi here. engine_bindings.cc wraps it for JavaScript, and events reach JS
// through the EventSink callback, a few times per run, never per frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "capture_file.h"
#include "capture_filter.h"
#include "capture_lane.h"
#include "epoch_ledger.h"
#include "export_worker.h"
#include "kernel_selection.h"
#include "ring_source.h"
#include "selector.h"
#include "topology_registry.h"

namespace dicap {

struct EngineOptions {
  uint32_t node_id = 0;
  std::vector<uint8_t> cluster_key;  // authenticates in-band topology frames
  // Export worker threads, raised to capture_threads (every lane needs one); 0: every capture
  // thread exports what it owns itself (`--workers 0`).
  uint32_t workers = 1;
  uint32_t snaplen = 128;
  ExportOptions export_options;  // node_id and snaplen are filled in from above
  // Exactly one source: a live interface (ring.interface non-empty) or a capture file.
  RingOptions ring;
  std::string file_path;
  bool realtime = false;         // file source: pace frames by their timestamps
  uint32_t capture_threads = 1;  // live source: rings in one PACKET_FANOUT group (a file has one)
  // Capture thread k runs on cpus[k % n], export worker w on cpus[(K + w) % n]; empty: no pinning.
  std::vector<int> cpus;
  std::string filter;  // tcpdump-style capture filter (capture_filter.h); empty: none
  // The selection in the kernel in front of this engine (XDP on the interface, or the rings'
  // socket filter when kernel_socket_filter): the engine follows its in-band switches, lets
  // it count round-robin, and adds the frames it dropped to seen/not owned. Null: none.
  std::shared_ptr<KernelSelection> kernel;
  bool kernel_socket_filter = false;
};

struct EngineEvent {
  enum class Kind { kTopology, kEnd, kError, kWarning } kind;
  std::string message;   // kError, kWarning: one line
  TopologyPtr topology;  // kTopology
  bool inband = false;   // kTopology: adopted from an in-band frame
};

struct EngineCounters {
  CaptureThreadCounters total;  // the sum over capture threads
  std::vector<CaptureThreadCounters> per_thread;
  uint64_t source_errors;  // times a source failed (each also an EngineEvent::kError line)
  uint64_t inband_rejected;
  // export (summed over the export streams)
  uint64_t records_exported, datagrams_sent, bytes_sent, send_errors, records_send_failed,
      records_no_analyzer, gso_writes, gso_fallbacks;
  int last_send_errno;
  std::vector<ExportCounters> per_stream;  // an export worker's, or a lane's own
  std::vector<EpochCounts> epochs;         // summed over capture threads
  IpidHistogram ipid_owned;                // owned IPv4 frames by Identification >> 8 (selector.h)
  // The selection in the kernel (zero without one): frames it dropped as another node's
  // (already added to seen and not_owned, and to each epoch's seen), and passed up undecided.
  uint64_t kernel_not_owned, kernel_undecided;
  int32_t position;
  uint32_t epoch;
  bool has_topology;
};

class Engine {
 public:
  using EventSink = std::function<void(EngineEvent)>;

  Engine(const EngineOptions& options, EventSink events);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens the source and starts the threads. Throws std::runtime_error with a one-line
  // message (interface missing, not Ethernet, permission, ...); nothing keeps running then.
  void Start();
  // Any thread; see Selector::Offer.
  void Offer(const TopologyPtr& topology);
  // Any thread; see Selector::Stage (a topology that comes into force at its switch frame).
  void Stage(const TopologyPtr& topology, uint64_t token);
  // Stops reading, drains the queues, sends every open batch, joins. Safe to call twice.
  void Stop();
  EngineCounters Counters();

 private:
  void Adopted(uint32_t lane, const TopologyPtr& topology, bool inband);
  void OpenRings();
  void RunFile();
  void StopExport();
  void CloseSources();
  void Emit(EngineEvent event);

  const EngineOptions options_;
  const EventSink events_;
  std::unique_ptr<CaptureFilter> filter_;
  TopologyRegistry topologies_;
  std::vector<std::unique_ptr<CaptureLane>> lanes_;
  CaptureFile file_;
  std::vector<std::thread> capture_threads_;
  std::atomic<bool> stop_requested_{false};
  std::mutex adopted_mutex_;
  std::tuple<uint32_t, uint32_t> last_emitted_{0, 0};  // (term, epoch) of the last topology event
  bool emitted_any_ = false;
  std::atomic<bool> round_robin_reported_{false};
  SharedCounter source_errors_;  // any capture thread
};

}  // namespace dicap
