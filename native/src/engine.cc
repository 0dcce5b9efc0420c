#include "engine.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "monotonic_clock.h"

namespace dicap {

Engine::Engine(const EngineOptions& options, EventSink events)
    : options_(options),
      events_(std::move(events)),
      selector_(options.node_id, options.cluster_key),
      effective_snaplen_(options.snaplen) {
  // The smallest payload that still carries a fragment with one byte of a record and a MAC.
  if (options.export_options.payload_size <
      kHeaderBatchHeaderSize + kHeaderBatchFragmentHeaderSize + kHeaderBatchMacSize + 1) {
    throw std::runtime_error("a " + std::to_string(options.export_options.payload_size) +
                             "-byte batch payload is too small for a header batch; raise the payload size");
  }
  ExportOptions export_options = options.export_options;
  export_options.node_id = options.node_id;
  export_options.snaplen = options.snaplen;
  for (uint32_t w = 0; w < std::max(1u, options.workers); ++w) {
    workers_.push_back(
        std::make_unique<ExportWorker>(static_cast<uint16_t>(w), export_options, topologies_, ledger_));
  }
  // Runs on the capture thread, before the first frame of the new epoch is classified.
  selector_.OnAdopt([this](const TopologyPtr& topology, bool inband) {
    topologies_.Add(topology);
    ledger_.Open(topology->epoch);
    effective_snaplen_ =
        topology->snaplen != 0 ? std::min(topology->snaplen, options_.snaplen) : options_.snaplen;
    Emit({EngineEvent::Kind::kTopology, "", topology, inband});
  });
}

Engine::~Engine() {
  Stop();
}

void Engine::Start() {
  const bool live = !options_.ring.interface.empty();
  if (live) {
    RingOptions ring = options_.ring;
    ring.snaplen = options_.snaplen;
    ring_.Open(ring);
  } else if (!file_.Open(options_.file_path)) {
    throw std::runtime_error(file_.error());
  }
  try {
    for (auto& worker : workers_) worker->Start();
  } catch (...) {
    StopWorkers();
    ring_.Close();
    file_.Close();
    throw;
  }
  capture_thread_ = std::thread([this, live] { live ? RunRing() : RunFile(); });
  // Named, so top, perf and the lab benchmark can tell capture from export.
  pthread_setname_np(capture_thread_.native_handle(), "dicap-capture");
}

void Engine::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  ring_.Interrupt();
  if (capture_thread_.joinable()) capture_thread_.join();
  StopWorkers();
  ring_.Close();
  file_.Close();
}

void Engine::StopWorkers() {
  if (workers_stopped_) return;
  for (auto& worker : workers_) worker->Stop();
  workers_stopped_ = true;
}

void Engine::Emit(EngineEvent event) {
  if (events_) events_(std::move(event));
}

void Engine::RunRing() {
  try {
    ring_.Run(*this);
  } catch (const std::exception& error) {
    source_errors_.Increment();
    Emit({EngineEvent::Kind::kError, error.what(), nullptr, false});
  }
}

void Engine::RunFile() {
  CapturedFrame captured;
  uint64_t first_ts = 0, started = 0;
  CaptureFile::Status status = CaptureFile::Status::kEnd;
  while (!stop_requested_.load(std::memory_order_relaxed) &&
         (status = file_.Next(&captured)) == CaptureFile::Status::kFrame) {
    if (options_.realtime) {
      if (started == 0) {
        first_ts = captured.ts_ns;
        started = MonotonicNs();
      }
      const uint64_t offset = captured.ts_ns > first_ts ? captured.ts_ns - first_ts : 0;
      const uint64_t due = started + offset;
      const uint64_t now = MonotonicNs();
      if (due > now) {
        const uint64_t wait = due - now;
        timespec pause{static_cast<time_t>(wait / 1000000000ull), static_cast<long>(wait % 1000000000ull)};
        nanosleep(&pause, nullptr);
      }
    }
    OnFrame({captured.data, captured.cap_len, captured.wire_len, captured.ts_ns, false, 0, 0});
  }
  if (stop_requested_.load(std::memory_order_relaxed)) return;
  // The whole file has been classified: drain and flush before saying it has ended, so
  // that whoever waits for kEnd can read final counters that include every export.
  StopWorkers();
  if (status == CaptureFile::Status::kError) {
    source_errors_.Increment();
    Emit({EngineEvent::Kind::kError, file_.error(), nullptr, false});
  }
  Emit({EngineEvent::Kind::kEnd, "", nullptr, false});
}

void Engine::OnFrame(const SourceFrame& frame) {
  frames_.Increment();
  bytes_.Add(frame.wire_len + (frame.has_vlan ? 4 : 0));
  const Classification decision = selector_.Classify(frame.data, frame.cap_len, frame.ts_ns, frame.has_vlan);
  if (decision.control) {
    control_frames_.Increment();
    return;
  }
  if (decision.position < 0) {
    unassigned_.Increment();  // no topology in force yet
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

  const uint32_t flow_hash =
      decision.has_flow_hash ? decision.flow_hash : selector_.FlowHashOf(frame.data, frame.cap_len);
  // Bits 16+ pick the worker: the low 12 bits (the bucket) already chose this node.
  ExportWorker& worker = *workers_[(flow_hash >> 16) % workers_.size()];
  FrameQueue& queue = worker.queue();
  QueuedFrame* slot = queue.BeginPush();
  if (slot == nullptr) {
    if (!options_.ring.interface.empty()) {
      // Live: waiting would only move the loss into the kernel ring; count it here.
      queue_full_drops_.Increment();
      ledger_.AddDropped(epoch, 1);
      return;
    }
    // A file waits for its worker: offline runs lose nothing.
    while ((slot = queue.BeginPush()) == nullptr) std::this_thread::yield();
  }
  slot->ts_ns = frame.ts_ns;
  slot->epoch = epoch;
  slot->flow_hash = flow_hash;
  slot->wire_len = frame.wire_len;
  const uint32_t snaplen = effective_snaplen_;
  uint8_t* out = slot->data();
  if (frame.has_vlan && frame.cap_len >= 12) {
    // AF_PACKET hands the 802.1Q tag over beside the frame; put it back where it was on the wire.
    std::memcpy(out, frame.data, 12);
    const uint8_t tag[4] = {static_cast<uint8_t>(frame.vlan_tpid >> 8), static_cast<uint8_t>(frame.vlan_tpid),
                            static_cast<uint8_t>(frame.vlan_tci >> 8), static_cast<uint8_t>(frame.vlan_tci)};
    const uint32_t tag_len = std::min<uint32_t>(4, snaplen > 12 ? snaplen - 12 : 0);
    std::memcpy(out + 12, tag, tag_len);
    const uint32_t rest = std::min(frame.cap_len - 12, snaplen > 16 ? snaplen - 16 : 0);
    std::memcpy(out + 16, frame.data + 12, rest);
    slot->cap_len = std::min(snaplen, 12 + tag_len + rest);
    slot->wire_len += 4;
  } else {
    slot->cap_len = std::min(frame.cap_len, snaplen);
    std::memcpy(out, frame.data, slot->cap_len);
  }
  queue.CommitPush();
  queued_.Increment();
}

EngineCounters Engine::Counters() {
  EngineCounters c{};
  c.frames = frames_.Get();
  c.bytes = bytes_.Get();
  c.source_errors = source_errors_.Get();
  c.ring = ring_.Stats();
  const InbandCounters inband = selector_.inband_counters();
  c.control_frames = control_frames_.Get();
  c.inband_rejected = inband.rejected;
  c.unassigned = unassigned_.Get();
  c.seen = seen_.Get();
  c.owned = owned_.Get();
  c.not_owned = not_owned_.Get();
  c.queued = queued_.Get();
  c.queue_full_drops = queue_full_drops_.Get();
  for (const auto& worker : workers_) {
    const ExportWorkerCounters w = worker->counters();
    c.records_exported += w.records_exported;
    c.datagrams_sent += w.datagrams_sent;
    c.bytes_sent += w.bytes_sent;
    c.send_errors += w.send_errors;
    c.records_send_failed += w.records_send_failed;
    c.records_no_analyzer += w.records_no_analyzer;
    if (w.last_send_errno != 0) c.last_send_errno = w.last_send_errno;
    c.per_worker.push_back(w);
  }
  c.epochs = ledger_.Snapshot();
  c.ipid_owned = selector_.ipid_histogram();
  const TopologyPtr latest = topologies_.Latest();
  c.has_topology = latest != nullptr;
  c.epoch = latest ? latest->epoch : 0;
  c.position = latest ? latest->PositionOf(options_.node_id) : -1;
  return c;
}

}  // namespace dicap
