// Packs owned frames into SPEC.md §3 header-batch datagrams, one open batch per analyzer, and
// sends them with sendmmsg: the export half of the packet path, on whichever thread drives
// it (an ExportWorker's own thread, or a capture thread that exports what it owns itself,
// `--workers 0`). A batch leaves when it is full, when its first record is older than the
// flush interval (so quiet links are not held back), when the epoch changes, and at the end.
// A record too large for one datagram goes as consecutive fragments (SPEC.md §6.5). With a
// batch key every datagram carries a MAC. Runs of equal-length batches to one analyzer leave
// as one UDP GSO write.
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
#include <vector>

#include "counter.h"
#include "epoch_ledger.h"
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
  size_t queue_slots = 65536;  // an export worker's queue (ExportWorker)
  uint32_t snaplen = 128;
  int socket_sndbuf = 8 << 20;
  std::optional<std::array<uint8_t, kBatchKeySize>> batch_key;  // SPEC.md §6.5: sign every datagram
  int cpu = -1;     // pin an export worker's thread to this CPU (-1: do not pin)
  bool gso = true;  // send runs of equal-length batches as one UDP GSO write (UDP_SEGMENT)
  // Any thread, rarely (at most once per exporter): a line for the operator's log.
  std::function<void(const std::string&)> warn;
};

// One owned frame on its way out: what a record holds, and where it belongs.
struct ExportRecord {
  uint64_t ts_ns;      // capture time, Unix nanoseconds
  uint32_t epoch;      // topology epoch the frame was selected under
  uint32_t flow_hash;  // SPEC.md §4 flow hash: picks the analyzer in flow export mode (else may be 0)
  uint32_t wire_len;   // length on the wire
  uint32_t cap_len;    // bytes at data
  const uint8_t* data;
};

struct ExportCounters {
  uint64_t records_exported, datagrams_sent, bytes_sent;
  uint64_t send_errors, records_send_failed;  // datagrams the kernel refused, and the records in them
  uint64_t records_no_analyzer;               // owned, but the topology lists no analyzer
  int last_send_errno;
  uint64_t gso_writes;     // UDP GSO writes that left (each several datagrams)
  uint64_t gso_fallbacks;  // times the kernel refused GSO and the exporter went back to single sends
};

class BatchExporter {
 public:
  // `stream` is the header-batch stream ID (SPEC.md §3): one per exporter of a node.
  BatchExporter(uint16_t stream, const ExportOptions& options, const TopologyRegistry& topologies,
                EpochLedger& ledger);
  ~BatchExporter();
  BatchExporter(const BatchExporter&) = delete;
  BatchExporter& operator=(const BatchExporter&) = delete;

  // Opens the UDP socket. Throws std::runtime_error naming the failing syscall.
  void Open();
  // The driving thread, for each owned frame in order. Its bytes are copied before it returns.
  void Export(const ExportRecord& record);
  // The driving thread, between frames: sends batches older than the flush interval, and the
  // ready ones once `force` or enough of them wait for one sendmmsg.
  void Tick(uint64_t now_ns, bool force);
  // The monotonic time the oldest open batch is due (0: none open): call Tick by then.
  uint64_t NextDeadlineNs() const;
  // The driving thread, at the end: sends every open batch. Then the socket is closed.
  void Finish();
  // Any thread.
  ExportCounters counters() const;
  uint16_t stream() const { return stream_; }

 private:
  struct Destination {
    sockaddr_in address;
    uint64_t next_seq = 0;
    int open_buffer = -1;    // index into buffers_ of the batch being filled, or -1
    uint64_t opened_ns = 0;  // monotonic time of the open batch's first record
  };

  void SwitchEpoch(uint32_t epoch);
  void ExportFragments(Destination& destination, const ExportRecord& record);
  int TakeBuffer();
  void Ready(int index);  // signs the datagram (with a key) and queues it for sendmmsg
  Destination& PickDestination(const ExportRecord& record);
  void OpenBatch(Destination& destination, uint64_t now_ns);
  void CloseBatch(Destination& destination);
  void CloseAllBatches();
  void SendReady();
  // The number of ready batches from ready_buffers_[from] that can share one GSO write.
  size_t GsoRun(size_t from) const;
  void CountSent(int buffer);

  const uint16_t stream_;
  const ExportOptions options_;
  const TopologyRegistry& topologies_;
  EpochLedger& ledger_;
  int socket_ = -1;
  std::optional<HeaderBatchMac> mac_;

  // Driving-thread state.
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
  bool gso_;  // cleared for good when the kernel refuses GSO

  SingleWriterCounter records_exported_, datagrams_sent_, bytes_sent_, send_errors_, records_send_failed_,
      records_no_analyzer_, gso_writes_, gso_fallbacks_;
  std::atomic<int> last_send_errno_{0};
  // One UDP_SEGMENT control message.
  union GsoControl {
    cmsghdr header;
    char space[CMSG_SPACE(sizeof(uint16_t))];
  };
};

}  // namespace dicap
