// One capture thread's share of the engine (`--capture-threads K` makes K lanes): a frame
// source (one ring of the PACKET_FANOUT group, or the capture file), its own Selector, the
// per-epoch ledger of what it classified, and the export workers it alone feeds. Lanes share
// nothing on the per-frame path (each counter and queue has one writer), so K lanes use K
// cores; the engine sums their counters and ledgers. A lane either feeds export workers
// (each a thread with its own queue) or, with `--workers 0`, exports what it owns on its own
// thread: no queue, no hand-off, no second copy of the frame, where cores are few.
//
//   ring k ──► [filter] ──► Selector ──► FrameQueue[w] ──► ExportWorker[w], w of lane k
//                                   └──► BatchExporter (--workers 0)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "batch_exporter.h"
#include "capture_filter.h"
#include "counter.h"
#include "epoch_ledger.h"
#include "export_worker.h"
#include "frame_sink.h"
#include "ring_source.h"
#include "selector.h"
#include "topology_registry.h"

namespace dicap {

// Per capture thread; the engine's totals are their sums.
struct CaptureThreadCounters {
  uint64_t frames, bytes;  // frames the source delivered, and their wire bytes
  uint64_t filtered;       // rejected by --filter before selection
  RingStats ring;          // live source only
  uint64_t control_frames, unassigned, seen, owned, not_owned;
  uint64_t queued;  // handed to export: a worker's queue, or (--workers 0) this thread's own batches
  uint64_t queue_full_drops;

  template <typename Self>
  static auto Fields(Self& c) {
    return std::tie(c.frames, c.bytes, c.filtered, c.ring, c.control_frames, c.unassigned, c.seen, c.owned,
                    c.not_owned, c.queued, c.queue_full_drops);
  }
};

struct LaneOptions {
  uint32_t index = 0;  // 0 … K-1
  uint32_t node_id = 0;
  std::vector<uint8_t> cluster_key;
  uint32_t snaplen = 128;
  bool live = false;  // live: a full worker queue drops (counted); a file waits
  // Round-robin counts frames in wire order, which fanout splits over the lanes: with more
  // than one lane a round-robin topology classifies nothing (its frames count as unassigned).
  bool several_lanes = false;
  const CaptureFilter* filter = nullptr;  // shared, read only; null: every frame passes
  ExportOptions export_options;           // node_id and snaplen filled in
  // Header-batch stream IDs: one per export worker of this lane, or, with
  // export_on_capture_thread, the one stream the lane exports on itself.
  std::vector<uint16_t> streams;
  std::vector<int> worker_cpus;  // per worker, -1: not pinned
  bool export_on_capture_thread = false;
};

class CaptureLane : public FrameSink {
 public:
  struct Hooks {
    // On this lane's thread, before the first frame of the new epoch is classified.
    std::function<void(const TopologyPtr&, bool inband)> adopted;
    // On this lane's thread, once: a round-robin topology came into force with several lanes.
    std::function<void()> round_robin_refused;
  };

  CaptureLane(const LaneOptions& options, TopologyRegistry& topologies, Hooks hooks);
  CaptureLane(const CaptureLane&) = delete;
  CaptureLane& operator=(const CaptureLane&) = delete;

  // Any thread; see Selector::Offer.
  void Offer(TopologyPtr topology) { selector_.Offer(std::move(topology)); }
  // Any thread; see Selector::Stage.
  void Stage(TopologyPtr topology, uint64_t token) { selector_.Stage(std::move(topology), token); }
  // Before the first frame; see Selector::FollowKernel.
  void FollowKernel(KernelSwitches* kernel) { selector_.FollowKernel(kernel); }
  RingSource& ring() { return ring_; }
  // Throws std::runtime_error naming the failing syscall.
  void StartExport();
  // After the source's thread has stopped: drains the queues, sends every open batch, joins
  // the workers. Safe to call twice.
  void StopExport();
  // The source's thread, for every frame in the order the source delivers them.
  void OnFrame(const SourceFrame& frame) override;
  // The source's thread: wakes the workers for what this burst queued, or sends what is due.
  void EndOfBurst() override;
  uint64_t NextDeadlineNs() const override { return exporter_ ? exporter_->NextDeadlineNs() : 0; }

  CaptureThreadCounters Counters();
  // One per export stream: the workers', or the lane's own.
  std::vector<ExportCounters> ExportStreamCounters() const;
  std::vector<EpochCounts> Ledger() const { return ledger_.Snapshot(); }
  IpidHistogram ipid_histogram() const { return selector_.ipid_histogram(); }
  uint64_t inband_rejected() const { return selector_.inband_counters().rejected; }

 private:
  void Queue(const SourceFrame& frame, uint32_t epoch, uint32_t flow_hash);
  void ExportHere(const SourceFrame& frame, uint32_t epoch, uint32_t flow_hash);

  const LaneOptions options_;
  const Hooks hooks_;
  Selector selector_;
  EpochLedger ledger_;
  std::vector<std::unique_ptr<ExportWorker>> workers_;
  std::unique_ptr<BatchExporter> exporter_;  // export_on_capture_thread: driven by this lane's thread
  std::vector<uint8_t> vlan_record_;         // exporter_: a tagged frame's bytes, the tag put back
  RingSource ring_;
  bool export_stopped_ = false;
  uint32_t effective_snaplen_;
  const bool picks_by_flow_hash_;  // several workers, or flow export mode: owned frames need their flow hash
  bool round_robin_refused_ = false;  // the topology in force is round-robin and lanes > 1

  // Written by this lane's thread only.
  SingleWriterCounter frames_, bytes_, filtered_, control_frames_, unassigned_, seen_, owned_, not_owned_,
      queued_, queue_full_drops_;
};

}  // namespace dicap
