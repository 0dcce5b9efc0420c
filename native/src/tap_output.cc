#include "tap_output.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace dicap {

namespace {

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Best effort: an interface without IPv6 sends no router solicitations or DAD of its own.
void DisableIpv6(const std::string& name) {
  const std::string knob = "/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6";
  const int fd = open(knob.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!write(fd, "1", 1);
  close(fd);
}

void BringUp(const std::string& name) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw OutputOpenError(Errno("socket for " + name));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || ((ifr.ifr_flags |= IFF_UP), ioctl(s, SIOCSIFFLAGS, &ifr) != 0)) {
    const std::string error = Errno("bring up TAP " + name);
    close(s);
    throw OutputOpenError(error);
  }
  close(s);
}

}  // namespace

void TapOutput::Open(std::vector<std::string>* notices) {
  if (name_.empty() || name_.size() >= IFNAMSIZ)
    throw OutputOpenError("TAP name \"" + name_ + "\" must have 1.." + std::to_string(IFNAMSIZ - 1) +
                          " characters");
  const bool existed = if_nametoindex(name_.c_str()) != 0;
  fd_ = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw OutputOpenError(Errno("open /dev/net/tun for TAP " + name_));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd_, TUNSETIFF, &ifr) != 0) {
    const std::string error =
        Errno(existed ? "attach to " + name_ + " (is it a TAP, and not in use by another process?)"
                      : "create TAP " + name_ + " (needs CAP_NET_ADMIN)");
    Close();
    throw OutputOpenError(error);
  }
  try {
    if (!existed) DisableIpv6(name_);
    BringUp(name_);
  } catch (...) {
    Close();
    throw;
  }
  opened_.store(true, std::memory_order_relaxed);
  if (notices != nullptr)
    notices->push_back(existed ? "writing frames into the existing TAP " + name_
                               : "created TAP " + name_ + " (removed when the analyzer exits)");
}

void TapOutput::Write(const OutputFrame& frame) {
  if (fd_ < 0) {
    records_unwritten_.Increment();
    return;
  }
  for (;;) {
    const ssize_t n = write(fd_, frame.data, frame.cap_len);
    if (n == static_cast<ssize_t>(frame.cap_len)) {
      records_written_.Increment();
      bytes_written_.Add(frame.cap_len);
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    last_errno_.store(n < 0 ? errno : EIO, std::memory_order_relaxed);
    write_errors_.Increment();
    records_unwritten_.Increment();
    return;
  }
}

void TapOutput::Close() {
  if (fd_ < 0) return;
  close(fd_);  // a TAP we created goes away with its last descriptor
  fd_ = -1;
  state_.store(OutputState::kClosed, std::memory_order_relaxed);
}

OutputStatus TapOutput::Status() const {
  OutputStatus s;
  s.state = state_.load(std::memory_order_relaxed);
  s.error_number = last_errno_.load(std::memory_order_relaxed);
  s.records_written = records_written_.Get();
  s.records_unwritten = records_unwritten_.Get();
  s.bytes_written = bytes_written_.Get();
  s.write_errors = write_errors_.Get();
  s.files = opened_.load(std::memory_order_relaxed) ? 1 : 0;
  return s;
}

}  // namespace dicap
