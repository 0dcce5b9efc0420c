#include "capture_lane.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "frame_key.h"
#include "monotonic_clock.h"

namespace dicap {

namespace {

constexpr int kYieldsBeforeSleep = 16;  // a file source waiting for room in a worker's queue

// The record of a frame: its first `snaplen` bytes as they were on the wire. AF_PACKET hands
// an 802.1Q tag over beside the frame; it goes back where it was. `out` holds snaplen bytes.
// Returns the bytes written.
uint32_t CopyWireBytes(const SourceFrame& frame, uint32_t snaplen, uint8_t* out) {
  if (!frame.has_vlan || frame.cap_len < 12) {
    const uint32_t length = std::min(frame.cap_len, snaplen);
    std::memcpy(out, frame.data, length);
    return length;
  }
  std::memcpy(out, frame.data, 12);
  const uint8_t tag[4] = {static_cast<uint8_t>(frame.vlan_tpid >> 8), static_cast<uint8_t>(frame.vlan_tpid),
                          static_cast<uint8_t>(frame.vlan_tci >> 8), static_cast<uint8_t>(frame.vlan_tci)};
  const uint32_t tag_len = std::min<uint32_t>(4, snaplen > 12 ? snaplen - 12 : 0);
  std::memcpy(out + 12, tag, tag_len);
  const uint32_t rest = std::min(frame.cap_len - 12, snaplen > 16 ? snaplen - 16 : 0);
  std::memcpy(out + 16, frame.data + 12, rest);
  return std::min(snaplen, 12 + tag_len + rest);
}

uint32_t WireLength(const SourceFrame& frame) {
  return frame.wire_len + (frame.has_vlan && frame.cap_len >= 12 ? 4 : 0);
}

}  // namespace

CaptureLane::CaptureLane(const LaneOptions& options, TopologyRegistry& topologies, Hooks hooks)
    : options_(options),
      hooks_(std::move(hooks)),
      selector_(options.node_id, options.cluster_key),
      effective_snaplen_(options.snaplen),
      picks_by_flow_hash_(options.export_options.mode == ExportMode::kFlow ||
                          (!options.export_on_capture_thread && options.streams.size() > 1)) {
  if (options.export_on_capture_thread) {
    exporter_ =
        std::make_unique<BatchExporter>(options.streams.at(0), options.export_options, topologies, ledger_);
    vlan_record_.resize(options.snaplen);
  }
  for (size_t w = 0; !options.export_on_capture_thread && w < options.streams.size(); ++w) {
    ExportOptions export_options = options.export_options;
    export_options.cpu = w < options.worker_cpus.size() ? options.worker_cpus[w] : -1;
    workers_.push_back(
        std::make_unique<ExportWorker>(options.streams[w], export_options, topologies, ledger_));
  }
  selector_.OnAdopt([this](const TopologyPtr& topology, bool inband) {
    ledger_.Open(topology->epoch);
    effective_snaplen_ =
        topology->snaplen != 0 ? std::min(topology->snaplen, options_.snaplen) : options_.snaplen;
    const bool refused = options_.several_lanes && topology->mode == SelectionMode::kRoundRobin;
    if (refused && !round_robin_refused_ && hooks_.round_robin_refused) hooks_.round_robin_refused();
    round_robin_refused_ = refused;
    if (hooks_.adopted) hooks_.adopted(topology, inband);
  });
}

void CaptureLane::StartExport() {
  if (exporter_) exporter_->Open();
  for (auto& worker : workers_) worker->Start();
}

void CaptureLane::StopExport() {
  if (export_stopped_) return;
  if (exporter_) exporter_->Finish();
  for (auto& worker : workers_) worker->Stop();
  export_stopped_ = true;
}

void CaptureLane::OnFrame(const SourceFrame& frame) {
  frames_.Increment();
  bytes_.Add(frame.wire_len + (frame.has_vlan ? 4 : 0));
  // In-band topology frames (untagged, EtherType 0x88B5) pass any filter: the cluster's
  // topology must reach every node whatever it captures.
  const bool inband_type = !frame.has_vlan && frame.cap_len >= 14 &&
                           frame.data[12] == (kInbandEthertype >> 8) &&
                           frame.data[13] == (kInbandEthertype & 0xFF);
  if (options_.filter != nullptr && !inband_type &&
      !options_.filter->Matches(frame.data, frame.cap_len, frame.wire_len)) {
    filtered_.Increment();
    return;
  }
  const Classification decision = selector_.Classify(frame.data, frame.cap_len, frame.ts_ns, frame.has_vlan);
  if (decision.control) {
    control_frames_.Increment();
    return;
  }
  if (decision.position < 0 || round_robin_refused_) {
    unassigned_.Increment();  // no topology in force yet (or one this engine cannot apply)
    return;
  }
  const uint32_t epoch = selector_.current()->epoch;
  seen_.Increment();
  ledger_.AddSeen(epoch, 1);
  if (decision.position != selector_.own_position()) {
    not_owned_.Increment();
    return;
  }
  owned_.Increment();
  ledger_.AddOwned(epoch, 1);
  // The flow hash picks a worker and, in flow export mode, an analyzer; round-robin and ipid
  // decisions do not compute it, and where nothing picks by it, no frame pays a second parse.
  uint32_t flow_hash = decision.flow_hash;
  if (!decision.has_flow_hash && picks_by_flow_hash_)
    flow_hash = selector_.FlowHashOf(frame.data, frame.cap_len);
  if (exporter_) {
    ExportHere(frame, epoch, flow_hash);
  } else {
    Queue(frame, epoch, flow_hash);
  }
}

void CaptureLane::EndOfBurst() {
  if (exporter_) exporter_->Tick(MonotonicNs(), true);
  for (auto& worker : workers_) worker->queue().Flush();
}

void CaptureLane::ExportHere(const SourceFrame& frame, uint32_t epoch, uint32_t flow_hash) {
  const uint32_t snaplen = effective_snaplen_;
  ExportRecord record{frame.ts_ns, epoch, flow_hash, WireLength(frame), std::min(frame.cap_len, snaplen),
                      frame.data};
  // Untagged frames go from the ring into the batch; only a tag to put back needs a copy first.
  if (frame.has_vlan && frame.cap_len >= 12) {
    record.cap_len = CopyWireBytes(frame, snaplen, vlan_record_.data());
    record.data = vlan_record_.data();
  }
  exporter_->Export(record);
  queued_.Increment();  // handed to export, as a worker's queue would have it
}

void CaptureLane::Queue(const SourceFrame& frame, uint32_t epoch, uint32_t flow_hash) {
  // Bits 16+ pick the worker: the low 12 bits (the bucket) already chose this node.
  ExportWorker& worker = *workers_[(flow_hash >> 16) % workers_.size()];
  FrameQueue& queue = worker.queue();
  QueuedFrame* slot = queue.BeginPush();
  if (slot == nullptr) {
    if (options_.live) {
      // Live: waiting would only move the loss into the kernel ring; count it here.
      queue_full_drops_.Increment();
      ledger_.AddDropped(epoch, 1);
      return;
    }
    // A file waits for its worker: offline runs lose nothing. Yield first (the worker is
    // about to make room), then sleep: a reader spinning on a full queue takes a core from
    // the very worker it waits for, and doubles the CPU an offline export costs.
    for (int tries = 0; (slot = queue.BeginPush()) == nullptr; ++tries) {
      if (tries < kYieldsBeforeSleep) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
  slot->ts_ns = frame.ts_ns;
  slot->epoch = epoch;
  slot->flow_hash = flow_hash;
  slot->wire_len = WireLength(frame);
  slot->cap_len = CopyWireBytes(frame, effective_snaplen_, slot->data());
  queue.CommitPush();
  queued_.Increment();
}

CaptureThreadCounters CaptureLane::Counters() {
  CaptureThreadCounters c{};
  c.frames = frames_.Get();
  c.bytes = bytes_.Get();
  c.filtered = filtered_.Get();
  c.ring = ring_.Stats();  // zeros for a file
  c.control_frames = control_frames_.Get();
  c.unassigned = unassigned_.Get();
  c.seen = seen_.Get();
  c.owned = owned_.Get();
  c.not_owned = not_owned_.Get();
  c.queued = queued_.Get();
  c.queue_full_drops = queue_full_drops_.Get();
  return c;
}

std::vector<ExportCounters> CaptureLane::ExportStreamCounters() const {
  std::vector<ExportCounters> out;
  if (exporter_) out.push_back(exporter_->counters());
  for (const auto& worker : workers_) out.push_back(worker->counters());
  return out;
}

}  // namespace dicap
