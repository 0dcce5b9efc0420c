// Decides, frame by frame and in wire order, which node position owns each frame
// (SPEC.md §4), and recognises the in-band topology frame of §2. One Selector serves
// both the live engine and `dicap owner`, so the tool answers with the engine's own code.
//
// Runs on one thread (the capture thread). Offer() may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "counter.h"
#include "topology.h"

namespace dicap {

struct Classification {
  bool control;        // an authentic, newer in-band TOPOLOGY_UPDATE: not traffic
  int32_t position;    // owner position of a traffic frame; -1 while no topology is in force
  uint32_t flow_hash;  // SPEC.md §4 flow hash, valid when has_flow_hash
  bool has_flow_hash;
};

// IPv4 Identification values of the frames this node owns, in 256 bins of 256 IDs (bin =
// ID >> 8). DiCAP's Figure 7 found real IDs far from uniform, and in ipid mode that skew is
// the load skew; every frame has one owner, so the bins summed over a cluster's nodes are
// the link's histogram. Counted in the hash modes only (round-robin parses no frame).
constexpr size_t kIpidBins = 256;
using IpidHistogram = std::array<uint64_t, kIpidBins>;

struct InbandCounters {
  uint64_t
      accepted;  // control frames: authentic, fresh, newer topologies (staged or in force) and switch frames
  uint64_t rejected;  // EtherType 0x88B5 frames that were not (treated as ordinary traffic)
};

// Where the selection in the kernel (kernel_selection.h) meets this one, when the engine
// captures behind it: topologies with a token are staged there and the kernel brings them
// into force at their switch frame (SPEC §6.10); in round-robin only the kernel sees every
// frame, so it alone counts C.
class KernelSwitches {
 public:
  virtual ~KernelSwitches() = default;
  virtual void Stage(TopologyPtr topology, uint64_t token) = 0;
  // The topology the kernel brought into force at the in-band frame just classified, or null.
  virtual TopologyPtr TakeSwitched() = 0;
};

class Selector {
 public:
  // `node_id` places this node in in-band topologies; `cluster_key` authenticates them.
  Selector(uint32_t node_id, std::vector<uint8_t> cluster_key);

  // Called on the selection thread whenever a topology comes into force (offered or in-band).
  void OnAdopt(std::function<void(const TopologyPtr&, bool inband)> callback) {
    on_adopt_ = std::move(callback);
  }

  // Before the first frame: in-band topologies come into force only where `kernel` switched,
  // and in round-robin every traffic frame that reaches user space is owned (the kernel
  // dropped the others). Not owned by the Selector; must outlive it.
  void FollowKernel(KernelSwitches* kernel) { kernel_ = kernel; }

  // Any thread: a topology (from an authenticated message) that comes into force at the
  // in-band frame carrying `token` (SPEC §6.10), on this node and, behind the kernel, there.
  void Stage(TopologyPtr topology, uint64_t token);

  // Any thread: the topology takes effect with the first frame stamped at or after its
  // validity start (frame time, so all nodes switch on the same frame). Offers wait in
  // epoch order, so each one is in force from its own validity start; an offer that is not
  // newer (term, epoch) than the topology in force when it falls due is dropped.
  void Offer(TopologyPtr topology);

  // For every frame, in wire order. `tagged`: the frame carried a VLAN tag (an in-band
  // frame never does).
  Classification Classify(const uint8_t* frame, uint32_t len, uint64_t ts_ns, bool tagged);

  // The flow hash of a frame under the current topology's key (for local fan-out).
  uint32_t FlowHashOf(const uint8_t* frame, uint32_t len) const;

  const TopologyPtr& current() const { return current_; }
  // This node's position in the current topology, -1 if none or not a member.
  int32_t own_position() const { return position_; }
  InbandCounters inband_counters() const;
  // Any thread: the owned frames' IPv4 ID histogram so far.
  IpidHistogram ipid_histogram() const;

 private:
  bool TryInband(const uint8_t* frame, uint32_t len, uint64_t ts_ns);
  // The staged topology the switch frame with `token` brings into force, or null.
  TopologyPtr TakeStaged(uint64_t token);
  void Adopt(TopologyPtr topology, bool inband);
  void AdoptPendingIfDue(uint64_t ts_ns);

  const uint32_t node_id_;
  const std::vector<uint8_t> cluster_key_;
  KernelSwitches* kernel_ = nullptr;
  std::function<void(const TopologyPtr&, bool)> on_adopt_;

  TopologyPtr current_;
  int32_t position_ = -1;
  uint64_t round_robin_counter_ = 0;

  std::atomic<bool> has_pending_{false};
  std::mutex pending_mutex_;
  std::vector<TopologyPtr> pending_;  // by (term, epoch)

  // Without a kernel: topologies staged by token, oldest first, at most kMaxStaged.
  static constexpr size_t kMaxStaged = 4;
  std::mutex staged_mutex_;
  std::vector<std::pair<uint64_t, TopologyPtr>> staged_;

  std::array<SingleWriterCounter, kIpidBins> ipid_owned_;  // one increment per owned IPv4 frame

  std::atomic<uint64_t> inband_accepted_{0};
  std::atomic<uint64_t> inband_rejected_{0};
};

}  // namespace dicap
