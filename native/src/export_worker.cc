#include "export_worker.h"

#include <pthread.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "monotonic_clock.h"
#include "thread_affinity.h"

namespace dicap {

namespace {

constexpr size_t kDrainPerLoop = 1024;  // frames taken from the queue before timers are checked
constexpr uint64_t kIdleWaitNs = 100'000'000;
constexpr size_t kMaxQueueBytes = 64u << 20;  // whole frames make slots large: bound a worker's queue memory

size_t QueueSlots(const ExportOptions& options) {
  const size_t slot = sizeof(QueuedFrame) + options.snaplen;
  return std::max<size_t>(64, std::min(options.queue_slots, kMaxQueueBytes / slot));
}

}  // namespace

ExportWorker::ExportWorker(uint16_t stream, const ExportOptions& options, const TopologyRegistry& topologies,
                           EpochLedger& ledger)
    : cpu_(options.cpu),
      queue_(QueueSlots(options), options.snaplen),
      exporter_(stream, options, topologies, ledger) {}

ExportWorker::~ExportWorker() {
  Stop();
}

void ExportWorker::Start() {
  exporter_.Open();
  thread_ = std::thread([this] { Run(); });
  const std::string name = "dicap-export-" + std::to_string(exporter_.stream());  // at most 15 characters
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  if (!PinThread(thread_, cpu_)) {
    throw std::runtime_error("--cpus: cannot pin export worker " + std::to_string(exporter_.stream()) +
                             " to CPU " + std::to_string(cpu_) +
                             "; list CPUs this process may use (taskset -p)");
  }
}

void ExportWorker::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  queue_.Interrupt();
  thread_.join();
}

void ExportWorker::Run() {
  for (;;) {
    size_t drained = 0;
    while (drained < kDrainPerLoop) {
      const QueuedFrame* frame = queue_.Front();
      if (frame == nullptr) break;
      exporter_.Export(
          {frame->ts_ns, frame->epoch, frame->flow_hash, frame->wire_len, frame->cap_len, frame->data()});
      queue_.Pop();
      ++drained;
    }
    const uint64_t now = MonotonicNs();
    exporter_.Tick(now, drained < kDrainPerLoop);
    if (drained == 0) {
      // Read `stopping_` before the final emptiness check: the producer has stopped
      // pushing before it sets the flag, so an empty queue now really is the end.
      if (stopping_.load(std::memory_order_acquire) && queue_.Empty()) break;
      const uint64_t deadline = exporter_.NextDeadlineNs();
      const uint64_t wait =
          deadline == 0 ? kIdleWaitNs : (deadline > now ? std::min(deadline - now, kIdleWaitNs) : 0);
      if (wait > 0) queue_.WaitForFrames(std::chrono::nanoseconds(wait));
    }
  }
  exporter_.Finish();
}

}  // namespace dicap
