#include "kernel_selection.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "../bpf/selection_abi.h"
#include "counter_fields.h"
#include "named_values.h"

namespace dicap {

namespace {

constexpr const char* kXdpProgramName = "dicap_xdp";

// libbpf explains a refused load (the verifier's last words, a missing file) through its
// print callback; the loader keeps the last line for its one-line error.
thread_local std::string last_libbpf_line;

int KeepLastLine(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty()) last_libbpf_line = text;
  return 0;
}

[[noreturn]] void Fail(const std::string& what, int error) {
  std::string message = what + ": " + std::strerror(error);
  if (error == EPERM) message += " (needs root or CAP_BPF + CAP_NET_ADMIN)";
  throw std::runtime_error(message);
}

// The program's clock is CLOCK_TAI; validity starts are Unix (CLOCK_REALTIME) times.
int64_t TaiMinusRealtimeNs() {
  timespec tai{}, real{};
  clock_gettime(CLOCK_TAI, &tai);
  clock_gettime(CLOCK_REALTIME, &real);
  const int64_t difference = (int64_t{tai.tv_sec} - real.tv_sec) * 1000000000 + (tai.tv_nsec - real.tv_nsec);
  // The kernel's TAI offset is a whole number of seconds; the rest is the time between the reads.
  return (difference + (difference >= 0 ? 500000000 : -500000000)) / 1000000000 * 1000000000;
}

int MapFd(bpf_object* object, const char* name) {
  const int fd = bpf_object__find_map_fd_by_name(object, name);
  if (fd < 0) throw std::runtime_error(std::string("selection.bpf.o has no map ") + name);
  return fd;
}

int ProgramFd(bpf_object* object, const char* name) {
  bpf_program* program = bpf_object__find_program_by_name(object, name);
  if (program == nullptr) throw std::runtime_error(std::string("selection.bpf.o has no program ") + name);
  return bpf_program__fd(program);
}

unsigned InterfaceIndex(const std::string& interface) {
  const unsigned ifindex = if_nametoindex(interface.c_str());
  if (ifindex == 0) {
    throw std::runtime_error("interface \"" + interface + "\" does not exist; check `ip link` for its name");
  }
  return ifindex;
}

// The name of the XDP program attached to `ifindex` in `mode_flag`, "" if none.
std::string AttachedXdpName(unsigned ifindex, uint32_t mode_flag, uint32_t* id) {
  *id = 0;
  if (bpf_xdp_query_id(static_cast<int>(ifindex), static_cast<int>(mode_flag), id) != 0 || *id == 0)
    return "";
  const int fd = bpf_prog_get_fd_by_id(*id);
  if (fd < 0) return "?";
  bpf_prog_info info{};
  uint32_t size = sizeof info;
  std::string name = bpf_obj_get_info_by_fd(fd, &info, &size) == 0 ? info.name : "?";
  close(fd);
  return name;
}

}  // namespace

const char* XdpModeName(XdpMode mode) {
  static constexpr NamedValue<XdpMode> kNames[] = {{XdpMode::kNative, "native"},
                                                   {XdpMode::kGeneric, "generic"}};
  return NameOf(kNames, mode, "none");
}

KernelSelection::KernelSelection(const std::string& object_path, uint32_t node_id, uint32_t snaplen,
                                 uint64_t guard_ns)
    : node_id_(node_id), slot_topology_(DICAP_SLOTS), slot_reported_(DICAP_SLOTS, false) {
  libbpf_set_print(KeepLastLine);
  last_libbpf_line.clear();
  object_ = bpf_object__open_file(object_path.c_str(), nullptr);
  if (object_ == nullptr) Fail("cannot open the BPF program " + object_path, errno);
  const int loaded = bpf_object__load(object_);
  if (loaded != 0) {
    const int error = -loaded;
    bpf_object__close(object_);
    object_ = nullptr;
    std::string why = "the kernel refused the selection program";
    if (!last_libbpf_line.empty()) why += " (" + last_libbpf_line + ")";
    Fail(why, error);
  }
  try {
    xdp_fd_ = ProgramFd(object_, kXdpProgramName);
    socket_fd_ = ProgramFd(object_, "dicap_socket");
    slots_fd_ = MapFd(object_, "dicap_slots");
    owners_fd_ = MapFd(object_, "dicap_owners");
    settings_fd_ = MapFd(object_, "dicap_settings");
    counters_fd_ = MapFd(object_, "dicap_counters");
    cpus_ = libbpf_num_possible_cpus();
    if (cpus_ <= 0) Fail("cannot count the possible CPUs", -cpus_);
    const long page = sysconf(_SC_PAGESIZE);
    slots_bytes_ = (sizeof(dicap_slot) * DICAP_SLOTS + page - 1) / page * page;
    void* slots = mmap(nullptr, slots_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, slots_fd_, 0);
    if (slots == MAP_FAILED) Fail("mmap the selection program's topology slots", errno);
    slots_ = static_cast<dicap_slot*>(slots);
    dicap_settings settings{};
    settings.snaplen = snaplen;
    settings.guard_ns = guard_ns;
    const uint32_t zero = 0;
    if (bpf_map_update_elem(settings_fd_, &zero, &settings, BPF_ANY) != 0)
      Fail("write the settings map", errno);
  } catch (...) {
    if (slots_ != nullptr) munmap(slots_, slots_bytes_);
    bpf_object__close(object_);
    object_ = nullptr;
    throw;
  }
}

KernelSelection::~KernelSelection() {
  DetachXdp();
  if (slots_ != nullptr) munmap(slots_, slots_bytes_);
  if (object_ != nullptr) bpf_object__close(object_);
}

void KernelSelection::Stage(TopologyPtr staged, uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Topology& topology = *staged;
  const uint32_t index = topology.epoch % DICAP_SLOTS;
  const TopologyPtr& held = slot_topology_[index];
  if (held != nullptr && held->epoch == topology.epoch) return;
  dicap_slot* slot = &slots_[index];
  // The slot's epoch is DICAP_SLOTS epochs old, long out of force: keep its counts, then reuse it.
  __atomic_store_n(&slot->state, DICAP_SLOT_EMPTY, __ATOMIC_RELEASE);
  if (held != nullptr) {
    const SlotCounts counts = ReadCounters(index);
    KernelEpochCounts& retired = retired_[held->epoch];
    retired.epoch = held->epoch;
    AddCounts(retired, counts);
  }
  ZeroCounters(index);

  if (topology.mode == SelectionMode::kFlow) {
    dicap_owners owners{};
    for (uint32_t bucket = 0; bucket < DICAP_BUCKETS; ++bucket) {
      owners.position[bucket] = topology.flow_owners.PositionOfBucket(bucket);
    }
    if (bpf_map_update_elem(owners_fd_, &index, &owners, BPF_ANY) != 0)
      Fail("write the flow owners map", errno);
  }
  slot->term = topology.term;
  slot->epoch = topology.epoch;
  slot->mode = static_cast<uint32_t>(topology.mode);
  slot->node_count = topology.node_count();
  slot->position = topology.PositionOf(node_id_);
  slot->k0 = topology.k0;
  slot->k1 = topology.k1;
  const int64_t start = static_cast<int64_t>(topology.validity_start_ns) + TaiMinusRealtimeNs();
  slot->start_tai_ns = topology.validity_start_ns == 0 || start < 0 ? 0 : static_cast<uint64_t>(start);
  slot->token = token;
  slot->round_robin = 0;
  __atomic_store_n(&slot->state, token != 0 ? DICAP_SLOT_AWAITING : DICAP_SLOT_TIMED, __ATOMIC_RELEASE);
  slot_topology_[index] = std::move(staged);
  slot_reported_[index] = false;
}

TopologyPtr KernelSelection::TakeSwitched() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (uint32_t index = 0; index < DICAP_SLOTS; ++index) {
    if (slot_topology_[index] == nullptr || slot_reported_[index]) continue;
    if (__atomic_load_n(&slots_[index].state, __ATOMIC_ACQUIRE) != DICAP_SLOT_SWITCHED) continue;
    slot_reported_[index] = true;
    return slot_topology_[index];
  }
  return nullptr;
}

XdpMode KernelSelection::AttachXdp(const std::string& interface, XdpMode wanted) {
  std::lock_guard<std::mutex> lock(mutex_);
  const unsigned ifindex = InterfaceIndex(interface);
  RemoveStaleXdp(interface);
  uint32_t id = 0;
  const std::string other = AttachedXdpName(ifindex, 0, &id);
  if (!other.empty()) {
    throw std::runtime_error("interface " + interface + " already has an XDP program (" + other + ", id " +
                             std::to_string(id) + "); remove it or use --selection socket");
  }
  const XdpMode order[2] = {XdpMode::kNative, XdpMode::kGeneric};
  int error = 0;
  for (const XdpMode mode : order) {
    if (wanted != XdpMode::kNone && mode != wanted) continue;
    const uint32_t flags =
        XDP_FLAGS_UPDATE_IF_NOEXIST | (mode == XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
    if (bpf_xdp_attach(static_cast<int>(ifindex), xdp_fd_, flags, nullptr) == 0) {
      xdp_ifindex_ = static_cast<int>(ifindex);
      xdp_flags_ = flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST;
      return mode;
    }
    error = errno;
  }
  Fail("attach the XDP program to " + interface, error);
}

void KernelSelection::DetachXdp() {
  if (xdp_ifindex_ == 0) return;
  bpf_xdp_detach(xdp_ifindex_, static_cast<int>(xdp_flags_), nullptr);
  xdp_ifindex_ = 0;
}

bool KernelSelection::RemoveStaleXdp(const std::string& interface) {
  const unsigned ifindex = InterfaceIndex(interface);
  bool removed = false;
  for (const uint32_t mode : {uint32_t{XDP_FLAGS_DRV_MODE}, uint32_t{XDP_FLAGS_SKB_MODE}}) {
    uint32_t id = 0;
    if (AttachedXdpName(ifindex, mode, &id) != kXdpProgramName) continue;
    if (bpf_xdp_detach(static_cast<int>(ifindex), static_cast<int>(mode), nullptr) == 0) removed = true;
  }
  return removed;
}

bool KernelSelection::TestRunXdp(const uint8_t* frame, uint32_t len) {
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = len, .repeat = 1);
  if (bpf_prog_test_run_opts(xdp_fd_, &run) != 0) Fail("BPF_PROG_TEST_RUN of the XDP program", errno);
  return run.retval == XDP_PASS;
}

KernelSelection::SlotCounts KernelSelection::ReadCounters(uint32_t index) {
  std::vector<dicap_counters> per_cpu(static_cast<size_t>(cpus_));
  SlotCounts sum;
  if (bpf_map_lookup_elem(counters_fd_, &index, per_cpu.data()) != 0) return sum;
  for (const dicap_counters& c : per_cpu) AddCounts(sum, c);
  return sum;
}

void KernelSelection::ZeroCounters(uint32_t index) {
  std::vector<dicap_counters> zeros(static_cast<size_t>(cpus_));
  bpf_map_update_elem(counters_fd_, &index, zeros.data(), BPF_ANY);
}

KernelCounters KernelSelection::Counters() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<uint32_t, KernelEpochCounts> epochs = retired_;
  for (uint32_t index = 0; index < DICAP_SLOTS; ++index) {
    if (slot_topology_[index] == nullptr) continue;
    const uint32_t epoch = slot_topology_[index]->epoch;
    const SlotCounts counts = ReadCounters(index);
    KernelEpochCounts& e = epochs[epoch];
    e.epoch = epoch;
    AddCounts(e, counts);
  }
  const SlotCounts global = ReadCounters(DICAP_GLOBAL_COUNTERS);
  KernelCounters out{{}, global.undecided, global.inband, global.switches};
  for (const auto& [epoch, counts] : epochs) out.epochs.push_back(counts);
  return out;
}

}  // namespace dicap
