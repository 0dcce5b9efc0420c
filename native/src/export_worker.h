// One export worker (one per core by default): drains its FrameQueue, packs records into
// SPEC.md §3 datagrams, one open batch per analyzer, and sends them with sendmmsg.
// A batch leaves when it is full, when its first record is older than the flush
// interval (so quiet links are not held back), when the epoch changes, and on stop. A
// record too large for one datagram goes as consecutive fragments (SPEC.md §6.5). With a
// batch key every datagram carries a MAC.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "counter.h"
#include "epoch_ledger.h"
#include "frame_queue.h"
#include "header_batch.h"
#include "header_batch_mac.h"
#include "topology_registry.h"

namespace dicap {

enum class ExportMode { kRandom, kFlow };  // random: DiCAP's random analyzer per batch

struct ExportOptions {
  uint32_t node_id = 0;
  size_t payload_size = kDefaultBatchPayload;  // bytes per datagram (UDP payload)
  uint64_t flush_ns = 10'000'000;              // max age of a partial batch (the agent's default)
  ExportMode mode = ExportMode::kRandom;
  size_t queue_slots = 65536;
  uint32_t snaplen = 128;
  int socket_sndbuf = 8 << 20;
  std::optional<std::array<uint8_t, kBatchKeySize>> batch_key;  // SPEC.md §6.5: sign every datagram
  int cpu = -1;     // pin the worker thread to this CPU (-1: do not pin)
  bool gso = true;  // send runs of equal-length batches as one UDP GSO write (UDP_SEGMENT)
  // Any thread, rarely (at most once per worker): a line for the operator's log.
  std::function<void(const std::string&)> warn;
};

struct ExportWorkerCounters {
  uint64_t records_exported, datagrams_sent, bytes_sent;
  uint64_t send_errors, records_send_failed;  // datagrams the kernel refused, and the records in them
  uint64_t records_no_analyzer;               // owned, but the topology lists no analyzer
  int last_send_errno;
  uint64_t gso_writes;     // UDP GSO writes that left (each several datagrams)
  uint64_t gso_fallbacks;  // times the kernel refused GSO and the worker went back to single sends
};

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
  ExportWorkerCounters counters() const;

 private:
  struct Destination {
    sockaddr_in address;
    uint64_t next_seq = 0;
    int open_buffer = -1;    // index into buffers_ of the batch being filled, or -1
    uint64_t opened_ns = 0;  // monotonic time of the open batch's first record
  };

  void Run();
  void SwitchEpoch(uint32_t epoch);
  void Export(const QueuedFrame& frame);
  void ExportFragments(Destination& destination, const QueuedFrame& frame);
  int TakeBuffer();
  void Ready(int index);  // signs the datagram (with a key) and queues it for sendmmsg
  Destination& PickDestination(const QueuedFrame& frame);
  void OpenBatch(Destination& destination, uint64_t now_ns);
  void CloseBatch(Destination& destination);
  void CloseExpiredBatches(uint64_t now_ns);
  void CloseAllBatches();
  void SendReady();
  // The number of ready batches from ready_buffers_[from] that can share one GSO write.
  size_t GsoRun(size_t from) const;
  void CountSent(int buffer);
  uint64_t NextDeadlineNs() const;

  const uint16_t stream_;
  const ExportOptions options_;
  const TopologyRegistry& topologies_;
  EpochLedger& ledger_;
  FrameQueue queue_;
  int socket_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::optional<HeaderBatchMac> mac_;  // used by the worker thread only

  // Worker-thread state.
  uint32_t epoch_ = 0;
  bool has_epoch_ = false;
  std::vector<Destination> destinations_;   // every analyzer seen, seq kept across epochs
  std::vector<size_t> epoch_destinations_;  // indices into destinations_ for the current epoch
  size_t random_choice_ = 0;                // index into epoch_destinations_ (random mode)
  std::minstd_rand rng_;
  std::vector<std::unique_ptr<uint8_t[]>> buffers_;
  std::vector<int> free_buffers_;
  std::vector<int> ready_buffers_;          // full or closed batches waiting for sendmmsg
  std::vector<HeaderBatchWriter> writers_;  // one per buffer
  std::vector<size_t> buffer_destination_;  // buffer → index into destinations_
  std::vector<uint32_t> buffer_epoch_;

  SingleWriterCounter records_exported_, datagrams_sent_, bytes_sent_, send_errors_, records_send_failed_,
      records_no_analyzer_;
  std::atomic<int> last_send_errno_{0};
  bool gso_;  // worker thread only; cleared for good when the kernel refuses GSO
  SingleWriterCounter gso_writes_, gso_fallbacks_;
  // One UDP_SEGMENT control message.
  union GsoControl {
    cmsghdr header;
    char space[CMSG_SPACE(sizeof(uint16_t))];
  };
};

}  // namespace dicap
