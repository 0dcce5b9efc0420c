// disableOffloads(namespace, interface): turns GRO, LRO, TSO and GSO off through the
// SIOCETHTOOL ioctl, as `ethtool -K IF gro off lro off tso off gso off` does (feature names
// with ETHTOOL_GSTRINGS, then ETHTOOL_GFEATURES / ETHTOOL_SFEATURES), so the lab needs no
// ethtool program; enableFeatures(namespace, interface, names) turns features on by their
// kernel names (`ethtool -k` lists them). A few calls per interface while a lab is built:
// they run on the JS thread.
//
// The interface lives in a network namespace (an `ip netns` name, /run/netns/NAME). A
// socket belongs to the namespace it was created in and its ioctls act there, so the
// thread enters the namespace only to create the socket and returns at once.
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <napi.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"

namespace dicap {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string Why(int error) {
  return std::string(std::strerror(error));
}

// A datagram socket in namespace `ns` ("" for this thread's own).
int SocketIn(Napi::Env env, const std::string& ns) {
  if (ns.empty()) return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  FileDescriptor own(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  FileDescriptor target(open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
  if (own.get() < 0 || target.get() < 0) {
    throw Napi::Error::New(env, "network namespace " + ns + ": cannot open it (" + Why(errno) +
                                    "); is it there (ip netns list)?");
  }
  if (setns(target.get(), CLONE_NEWNET) != 0) {
    throw Napi::Error::New(env, "network namespace " + ns + ": cannot enter it (" + Why(errno) +
                                    "); this needs CAP_SYS_ADMIN (run as root)");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int socket_error = errno;
  // A JS thread left in another namespace would open every later socket there: no way on.
  if (setns(own.get(), CLONE_NEWNET) != 0)
    Napi::Error::Fatal("disableOffloads", "cannot return to the own network namespace");
  errno = socket_error;
  return fd;
}

// The offloads by the kernel's feature names (ETH_SS_FEATURES strings), as `ethtool -K`
// groups them: "tso" is every TCP segmentation feature (new kernels add ones such as
// tx-tcp-accecn-segmentation, which the old one-feature ETHTOOL_STSO does not reach).
struct Offload {
  const char* name;
  bool (*has)(const std::string& feature);
};

constexpr Offload kOffloads[] = {
    {"gro", [](const std::string& f) { return f == "rx-gro" || f == "rx-gro-hw"; }},
    {"lro", [](const std::string& f) { return f == "rx-lro"; }},
    {"tso",
     [](const std::string& f) {
       const std::string tail = "segmentation";
       return f.rfind("tx-tcp", 0) == 0 && f.size() >= tail.size() &&
              f.compare(f.size() - tail.size(), tail.size(), tail) == 0;
     }},
    {"gso", [](const std::string& f) { return f == "tx-generic-segmentation"; }},
};

// One feature bit per name, in 32-bit blocks, as ETHTOOL_[GS]FEATURES count them.
struct Bit {
  uint32_t block;
  uint32_t mask;
};

class Interface {
 public:
  Interface(Napi::Env env, int fd, const std::string& name) : env_(env), fd_(fd), name_(name) {}

  // The kernel's feature names; the position of a name is its bit.
  std::vector<std::string> FeatureNames() const {
    // ethtool_sset_info ends in a flexible array: one u32 per set asked for, here one.
    std::vector<uint8_t> query(sizeof(ethtool_sset_info) + sizeof(uint32_t));
    auto* sets = reinterpret_cast<ethtool_sset_info*>(query.data());
    sets->cmd = ETHTOOL_GSSET_INFO;
    sets->sset_mask = 1ULL << ETH_SS_FEATURES;
    Call(sets, "list its features");
    const uint32_t count = sets->sset_mask != 0 ? sets->data[0] : 0;
    std::vector<uint8_t> buffer(sizeof(ethtool_gstrings) + count * ETH_GSTRING_LEN);
    auto* strings = reinterpret_cast<ethtool_gstrings*>(buffer.data());
    strings->cmd = ETHTOOL_GSTRINGS;
    strings->string_set = ETH_SS_FEATURES;
    strings->len = count;
    Call(strings, "list its features");
    std::vector<std::string> names;
    for (uint32_t i = 0; i < strings->len; i++) {
      const char* text = reinterpret_cast<const char*>(strings->data) + i * ETH_GSTRING_LEN;
      names.emplace_back(text, strnlen(text, ETH_GSTRING_LEN));
    }
    return names;
  }

  std::vector<ethtool_get_features_block> Features(size_t blocks) const {
    std::vector<uint8_t> buffer(sizeof(ethtool_gfeatures) + blocks * sizeof(ethtool_get_features_block));
    auto* features = reinterpret_cast<ethtool_gfeatures*>(buffer.data());
    features->cmd = ETHTOOL_GFEATURES;
    features->size = static_cast<uint32_t>(blocks);
    Call(features, "read its features");
    return {features->features, features->features + blocks};
  }

  // Requests every bit of `bits` on or off (bits the driver cannot change are left out by
  // the caller).
  void Request(const std::vector<Bit>& bits, bool on, size_t blocks) const {
    std::vector<uint8_t> buffer(sizeof(ethtool_sfeatures) + blocks * sizeof(ethtool_set_features_block));
    auto* features = reinterpret_cast<ethtool_sfeatures*>(buffer.data());
    features->cmd = ETHTOOL_SFEATURES;
    features->size = static_cast<uint32_t>(blocks);
    for (const Bit& bit : bits) {
      features->features[bit.block].valid |= bit.mask;
      if (on) features->features[bit.block].requested |= bit.mask;
    }
    Call(features, on ? "turn its features on" : "turn its offloads off");
  }

 private:
  void Call(void* data, const char* what) const {
    ifreq request{};
    std::strncpy(request.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    request.ifr_data = reinterpret_cast<char*>(data);
    if (ioctl(fd_, SIOCETHTOOL, &request) != 0) {
      throw Napi::Error::New(env_, "interface " + name_ + ": cannot " + what + " (" + Why(errno) + ")");
    }
  }

  Napi::Env env_;
  int fd_;
  std::string name_;
};

// disableOffloads(namespace: string, interface: string) → { gro, lro, tso, gso }: each
// "off", or "on [fixed]" where the driver keeps (part of) it on.
// The interface name of a binding's second argument, checked.
std::string InterfaceName(const Napi::CallbackInfo& info) {
  const std::string name = info[1].As<Napi::String>();
  if (name.empty() || name.size() >= IFNAMSIZ) {
    throw Napi::TypeError::New(info.Env(), "interface name \"" + name + "\" is not 1 to 15 characters");
  }
  return name;
}

// A socket for SIOCETHTOOL in the namespace of a binding's first argument.
int EthtoolSocket(const Napi::CallbackInfo& info) {
  const int fd = SocketIn(info.Env(), info[0].As<Napi::String>());
  if (fd < 0) throw Napi::Error::New(info.Env(), "cannot open a socket for SIOCETHTOOL (" + Why(errno) + ")");
  return fd;
}

Napi::Value DisableOffloads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "disableOffloads(namespace, interface): two strings");
  }
  const std::string name = InterfaceName(info);
  FileDescriptor fd(EthtoolSocket(info));
  const Interface interface(env, fd.get(), name);
  const std::vector<std::string> names = interface.FeatureNames();
  const size_t blocks = (names.size() + 31) / 32;
  const std::vector<ethtool_get_features_block> before = interface.Features(blocks);
  std::vector<Bit> off;
  for (size_t i = 0; i < names.size(); i++) {
    const Bit bit{static_cast<uint32_t>(i / 32), 1u << (i % 32)};
    const ethtool_get_features_block& b = before[bit.block];
    const bool changeable = (b.available & bit.mask) != 0 && (b.never_changed & bit.mask) == 0;
    const bool wanted = std::any_of(std::begin(kOffloads), std::end(kOffloads),
                                    [&](const Offload& o) { return o.has(names[i]); });
    if (wanted && changeable && (b.active & bit.mask) != 0) off.push_back(bit);
  }
  if (!off.empty()) interface.Request(off, false, blocks);
  const std::vector<ethtool_get_features_block> after = interface.Features(blocks);
  Napi::Object state = Napi::Object::New(env);
  for (const Offload& o : kOffloads) {
    bool on = false;
    for (size_t i = 0; i < names.size(); i++) {
      if (o.has(names[i]) && (after[i / 32].active & (1u << (i % 32))) != 0) on = true;
    }
    state.Set(o.name, on ? "on [fixed]" : "off");
  }
  return state;
}

// enableFeatures(namespace: string, interface: string, names: string[]) → string[]: turns
// the features of these kernel names on where the driver lets it, and returns the names
// that are not on afterwards (unknown to this kernel, or fixed off).
Napi::Value EnableFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsArray()) {
    throw Napi::TypeError::New(env, "enableFeatures(namespace, interface, names): two strings and an array");
  }
  const std::string name = InterfaceName(info);
  const Napi::Array wanted = info[2].As<Napi::Array>();
  std::vector<std::string> wanted_names;
  for (uint32_t i = 0; i < wanted.Length(); i++) wanted_names.push_back(wanted.Get(i).ToString());
  FileDescriptor fd(EthtoolSocket(info));
  const Interface interface(env, fd.get(), name);
  const std::vector<std::string> names = interface.FeatureNames();
  const size_t blocks = (names.size() + 31) / 32;
  const std::vector<ethtool_get_features_block> before = interface.Features(blocks);
  auto bit_of = [&](const std::string& feature) -> std::optional<Bit> {
    const auto it = std::find(names.begin(), names.end(), feature);
    if (it == names.end()) return std::nullopt;
    const size_t i = static_cast<size_t>(it - names.begin());
    return Bit{static_cast<uint32_t>(i / 32), 1u << (i % 32)};
  };
  std::vector<Bit> on;
  for (const std::string& feature : wanted_names) {
    const std::optional<Bit> bit = bit_of(feature);
    if (!bit) continue;
    const ethtool_get_features_block& b = before[bit->block];
    const bool changeable = (b.available & bit->mask) != 0 && (b.never_changed & bit->mask) == 0;
    if (changeable && (b.active & bit->mask) == 0) on.push_back(*bit);
  }
  if (!on.empty()) interface.Request(on, true, blocks);
  const std::vector<ethtool_get_features_block> after = interface.Features(blocks);
  Napi::Array off = Napi::Array::New(env);
  for (const std::string& feature : wanted_names) {
    const std::optional<Bit> bit = bit_of(feature);
    if (!bit || (after[bit->block].active & bit->mask) == 0) off.Set(off.Length(), feature);
  }
  return off;
}

}  // namespace

void RegisterOffloadBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("disableOffloads", Napi::Function::New(env, DisableOffloads, "disableOffloads"));
  exports.Set("enableFeatures", Napi::Function::New(env, EnableFeatures, "enableFeatures"));
}

}  // namespace dicap
