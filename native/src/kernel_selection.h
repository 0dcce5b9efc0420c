// The selection in the kernel (native/bpf/selection.bpf.c), loaded with libbpf: stages
// topologies into the program's maps, attaches it at XDP on an interface or hands out its
// socket filter for the capture ring, and reads its per-CPU counters. One object per agent;
// every method may be called from any thread (a mutex guards the maps' slots).
//
// The program decides exactly as Selector does (SPEC §4) on the first `snaplen` bytes. Timed
// topologies switch by CLOCK_TAI (the program has no frame time stamps); within `guard_ns`
// of a timed start it passes frames up undecided so that user space, which has the time
// stamps, decides. Topologies with a token switch at their in-band switch frame (§6.10).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "selector.h"
#include "topology.h"

struct bpf_object;
struct dicap_slot;

namespace dicap {

// Where an interface's XDP program runs.
enum class XdpMode { kNone, kNative, kGeneric };
const char* XdpModeName(XdpMode mode);

struct KernelEpochCounts {
  uint32_t epoch;
  uint64_t seen, owned, not_owned;  // classified in the kernel under this epoch

  template <typename Self>
  static auto Fields(Self& c) {
    return std::tie(c.seen, c.owned, c.not_owned);
  }
};

struct KernelCounters {
  std::vector<KernelEpochCounts> epochs;  // oldest first, over every epoch ever staged
  uint64_t undecided;                     // passed up without a verdict (guard window, no topology in force)
  uint64_t inband;                        // EtherType 0x88B5 frames passed up
  uint64_t switches;                      // switch frames that brought a staged topology into force
};

class KernelSelection : public KernelSwitches {
 public:
  // Opens and loads `object_path` (selection.bpf.o). Throws std::runtime_error with one line
  // (file missing, the kernel refused the program: EPERM, verifier, ...).
  KernelSelection(const std::string& object_path, uint32_t node_id, uint32_t snaplen, uint64_t guard_ns);
  ~KernelSelection() override;
  KernelSelection(const KernelSelection&) = delete;
  KernelSelection& operator=(const KernelSelection&) = delete;

  // Stages `topology` (validity start in Unix ns, 0 = at once). `token` != 0: it comes into
  // force at the in-band switch frame carrying that token instead. Staging the epoch a slot
  // already holds changes nothing (a resent topology keeps its counts and round-robin C).
  void Stage(TopologyPtr topology, uint64_t token);

  // The topology whose switch frame the program has passed since the last call, or null.
  TopologyPtr TakeSwitched() override;

  // Attaches the XDP program to `interface`: native where the driver has it, else generic
  // (or only `wanted`). A dicap program left there by an earlier run is replaced; any other
  // program is not touched (throws). Returns the mode in use.
  XdpMode AttachXdp(const std::string& interface, XdpMode wanted = XdpMode::kNone);
  // Safe to call when nothing is attached.
  void DetachXdp();
  // Removes a dicap XDP program left on `interface` by an earlier run; true if there was one.
  static bool RemoveStaleXdp(const std::string& interface);

  // The socket filter program's fd, for SO_ATTACH_BPF on the capture socket.
  int socket_filter_fd() const { return socket_fd_; }
  int xdp_fd() const { return xdp_fd_; }

  // Runs the XDP program on `frame` (BPF_PROG_TEST_RUN): true if it passed the frame.
  bool TestRunXdp(const uint8_t* frame, uint32_t len);

  KernelCounters Counters();

 private:
  struct SlotCounts {
    uint64_t seen = 0, owned = 0, not_owned = 0, undecided = 0, inband = 0, switches = 0;

    template <typename Self>
    static auto Fields(Self& c) {
      return std::tie(c.seen, c.owned, c.not_owned, c.undecided, c.inband, c.switches);
    }
  };
  SlotCounts ReadCounters(uint32_t index);
  void ZeroCounters(uint32_t index);

  const uint32_t node_id_;
  bpf_object* object_ = nullptr;
  int xdp_fd_ = -1, socket_fd_ = -1;
  int slots_fd_ = -1, owners_fd_ = -1, settings_fd_ = -1, counters_fd_ = -1;
  int cpus_ = 1;
  dicap_slot* slots_ = nullptr;  // the slots map, mmapped
  size_t slots_bytes_ = 0;

  std::mutex mutex_;
  std::vector<TopologyPtr> slot_topology_;         // what each slot holds, null while empty
  std::vector<bool> slot_reported_;                // its switch has been taken by TakeSwitched
  std::map<uint32_t, KernelEpochCounts> retired_;  // counts of epochs whose slot was reused
  int xdp_ifindex_ = 0;
  uint32_t xdp_flags_ = 0;
};

}  // namespace dicap
