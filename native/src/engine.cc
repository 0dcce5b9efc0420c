#include "engine.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>

#include "counter_fields.h"
#include "monotonic_clock.h"
#include "thread_affinity.h"

namespace dicap {

namespace {

int CpuAt(const std::vector<int>& cpus, size_t index) {
  return cpus.empty() ? -1 : cpus[index % cpus.size()];
}

}  // namespace

Engine::Engine(const EngineOptions& options, EventSink events)
    : options_(options), events_(std::move(events)) {
  // The smallest payload that still carries a fragment with one byte of a record and a MAC.
  if (options.export_options.payload_size <
      kHeaderBatchHeaderSize + kHeaderBatchFragmentHeaderSize + kHeaderBatchMacSize + 1) {
    throw std::runtime_error("a " + std::to_string(options.export_options.payload_size) +
                             "-byte batch payload is too small for a header batch; raise the payload size");
  }
  if (!options.filter.empty()) filter_ = std::make_unique<CaptureFilter>(options.filter, options.snaplen);
  const bool live = !options.ring.interface.empty();
  const uint32_t lanes = live ? std::max(1u, options.capture_threads) : 1;
  const bool export_on_capture_threads = options.workers == 0;
  const uint32_t workers = export_on_capture_threads ? 0 : std::max(lanes, options.workers);
  // Worker w belongs to lane w % K, so each lane has at least one and they differ by one at
  // most; without workers, lane k exports on stream k itself.
  for (uint32_t k = 0; k < lanes; ++k) {
    LaneOptions lane;
    lane.index = k;
    lane.node_id = options.node_id;
    lane.cluster_key = options.cluster_key;
    lane.snaplen = options.snaplen;
    lane.live = live;
    lane.several_lanes = lanes > 1;
    lane.filter = filter_.get();
    lane.export_options = options.export_options;
    lane.export_options.node_id = options.node_id;
    lane.export_options.snaplen = options.snaplen;
    lane.export_options.warn = [this](const std::string& line) {
      Emit({EngineEvent::Kind::kWarning, line, nullptr, false});
    };
    lane.export_on_capture_thread = export_on_capture_threads;
    if (export_on_capture_threads) lane.streams.push_back(static_cast<uint16_t>(k));
    for (uint32_t w = k; w < workers; w += lanes) {
      lane.streams.push_back(static_cast<uint16_t>(w));
      lane.worker_cpus.push_back(CpuAt(options.cpus, lanes + w));
    }
    CaptureLane::Hooks hooks;
    hooks.adopted = [this, k](const TopologyPtr& topology, bool inband) { Adopted(k, topology, inband); };
    hooks.round_robin_refused = [this, lanes] {
      if (round_robin_reported_.exchange(true)) return;
      Emit({EngineEvent::Kind::kError,
            "round-robin counts frames in wire order, which " + std::to_string(lanes) +
                " capture threads split between their rings; its frames are counted as unassigned: "
                "restart with --capture-threads 1",
            nullptr, false});
    };
    lanes_.push_back(std::make_unique<CaptureLane>(lane, topologies_, std::move(hooks)));
    if (options.kernel) lanes_.back()->FollowKernel(options.kernel.get());
  }
}

Engine::~Engine() {
  Stop();
}

void Engine::Offer(const TopologyPtr& topology) {
  for (auto& lane : lanes_) lane->Offer(topology);
}

void Engine::Stage(const TopologyPtr& topology, uint64_t token) {
  // Behind the kernel every lane's Stage lands in the one program (once per epoch); without
  // it, each lane stages its own copy, and the lane the switch frame reaches hands the
  // topology to the others (Adopted).
  for (auto& lane : lanes_) lane->Stage(topology, token);
}

// Runs on lane `lane`'s thread when a topology comes into force there.
void Engine::Adopted(uint32_t lane, const TopologyPtr& topology, bool inband) {
  std::lock_guard<std::mutex> lock(adopted_mutex_);
  const std::tuple<uint32_t, uint32_t> version{topology->term, topology->epoch};
  if (emitted_any_ && version <= last_emitted_) return;  // another lane has announced it
  emitted_any_ = true;
  last_emitted_ = version;
  topologies_.Add(topology);
  if (inband) {
    // The frame reached this lane only; the others take it from the frame's time on.
    for (uint32_t k = 0; k < lanes_.size(); ++k)
      if (k != lane) lanes_[k]->Offer(topology);
  }
  Emit({EngineEvent::Kind::kTopology, "", topology, inband});
}

void Engine::OpenRings() {
  RingOptions ring = options_.ring;
  ring.snaplen = options_.snaplen;
  if (options_.kernel && options_.kernel_socket_filter)
    ring.bpf_filter_fd = options_.kernel->socket_filter_fd();
  if (lanes_.size() > 1) ring.fanout = RingOptions::Fanout::kCreate;
  for (auto& lane : lanes_) {
    lane->ring().Open(ring);
    if (ring.fanout == RingOptions::Fanout::kCreate) {
      ring.fanout = RingOptions::Fanout::kJoin;
      ring.fanout_group = lane->ring().fanout_group();
    }
  }
}

void Engine::Start() {
  const bool live = !options_.ring.interface.empty();
  try {
    if (live) {
      OpenRings();
    } else if (!file_.Open(options_.file_path)) {
      throw std::runtime_error(file_.error());
    }
    for (auto& lane : lanes_) lane->StartExport();
    for (uint32_t k = 0; k < lanes_.size(); ++k) {
      CaptureLane* lane = lanes_[k].get();
      capture_threads_.emplace_back([this, lane, live] {
        if (!live) return RunFile();
        try {
          lane->ring().Run(*lane);
        } catch (const std::exception& error) {
          source_errors_.Add(1);
          Emit({EngineEvent::Kind::kError, error.what(), nullptr, false});
        }
      });
      // Named, so top, perf and the lab benchmark can tell capture from export.
      const std::string name = lanes_.size() == 1 ? "dicap-capture" : "dicap-capture-" + std::to_string(k);
      pthread_setname_np(capture_threads_.back().native_handle(), name.substr(0, 15).c_str());
      if (!PinThread(capture_threads_.back(), CpuAt(options_.cpus, k))) {
        throw std::runtime_error("--cpus: cannot pin capture thread " + std::to_string(k) + " to CPU " +
                                 std::to_string(CpuAt(options_.cpus, k)) +
                                 "; list CPUs this process may use (taskset -p)");
      }
    }
  } catch (...) {
    Stop();
    throw;
  }
}

void Engine::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  for (auto& lane : lanes_) lane->ring().Interrupt();
  for (auto& thread : capture_threads_)
    if (thread.joinable()) thread.join();
  StopExport();
  CloseSources();
}

void Engine::StopExport() {
  for (auto& lane : lanes_) lane->StopExport();
}

void Engine::CloseSources() {
  for (auto& lane : lanes_) lane->ring().Close();
  file_.Close();
}

void Engine::Emit(EngineEvent event) {
  if (events_) events_(std::move(event));
}

void Engine::RunFile() {
  CaptureLane& lane = *lanes_.front();
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
      // The frames read so far go out before the pause, and a lane that exports itself is
      // woken for its flush deadlines during it.
      for (uint64_t now = MonotonicNs(); due > now && !stop_requested_.load(std::memory_order_relaxed);
           now = MonotonicNs()) {
        lane.EndOfBurst();
        const uint64_t deadline = lane.NextDeadlineNs();
        const uint64_t wait = (deadline > now && deadline < due ? deadline : due) - now;
        timespec pause{static_cast<time_t>(wait / 1000000000ull), static_cast<long>(wait % 1000000000ull)};
        nanosleep(&pause, nullptr);
      }
    }
    lane.OnFrame({captured.data, captured.cap_len, captured.wire_len, captured.ts_ns, false, 0, 0});
  }
  if (stop_requested_.load(std::memory_order_relaxed)) return;
  // The whole file has been classified: drain and flush before saying it has ended, so
  // that whoever waits for kEnd can read final counters that include every export.
  StopExport();
  if (status == CaptureFile::Status::kError) {
    source_errors_.Add(1);
    Emit({EngineEvent::Kind::kError, file_.error(), nullptr, false});
  }
  Emit({EngineEvent::Kind::kEnd, "", nullptr, false});
}

EngineCounters Engine::Counters() {
  EngineCounters c{};
  c.source_errors = source_errors_.Get();
  std::map<uint32_t, EpochCounts> epochs;
  for (auto& lane : lanes_) {
    const CaptureThreadCounters t = lane->Counters();
    AddCounts(c.total, t);
    c.per_thread.push_back(t);
    c.inband_rejected += lane->inband_rejected();
    for (const ExportCounters& w : lane->ExportStreamCounters()) {
      c.records_exported += w.records_exported;
      c.datagrams_sent += w.datagrams_sent;
      c.bytes_sent += w.bytes_sent;
      c.send_errors += w.send_errors;
      c.records_send_failed += w.records_send_failed;
      c.records_no_analyzer += w.records_no_analyzer;
      c.gso_writes += w.gso_writes;
      c.gso_fallbacks += w.gso_fallbacks;
      if (w.last_send_errno != 0) c.last_send_errno = w.last_send_errno;
      c.per_stream.push_back(w);
    }
    for (const EpochCounts& e : lane->Ledger()) {
      AddCounts(epochs.try_emplace(e.epoch, EpochCounts{e.epoch, 0, 0, 0, 0}).first->second, e);
    }
    const IpidHistogram bins = lane->ipid_histogram();
    for (size_t i = 0; i < kIpidBins; ++i) c.ipid_owned[i] += bins[i];
  }
  for (const auto& entry : epochs) c.epochs.push_back(entry.second);
  if (options_.kernel) {
    // The kernel's drops are frames this node saw and did not own: the ledger must count them.
    const KernelCounters kernel = options_.kernel->Counters();
    c.kernel_undecided = kernel.undecided;
    for (const KernelEpochCounts& e : kernel.epochs) {
      c.kernel_not_owned += e.not_owned;
      auto epoch = std::find_if(c.epochs.begin(), c.epochs.end(),
                                [&](const EpochCounts& held) { return held.epoch == e.epoch; });
      if (epoch != c.epochs.end()) epoch->seen += e.not_owned;
    }
    c.total.seen += c.kernel_not_owned;
    c.total.not_owned += c.kernel_not_owned;
  }
  const TopologyPtr latest = topologies_.Latest();
  c.has_topology = latest != nullptr;
  c.epoch = latest ? latest->epoch : 0;
  c.position = latest ? latest->PositionOf(options_.node_id) : -1;
  return c;
}

}  // namespace dicap
