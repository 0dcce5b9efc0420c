#include "traffic_sender.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dicap {

namespace {

constexpr long kFirstPauseNs = 1000;       // doubled after each refusal of the same frame...
constexpr long kLongestPauseNs = 1000000;  // ...up to 1 ms

bool Transient(int error_number) {
  return error_number == ENOBUFS || error_number == EAGAIN || error_number == ENOMEM;
}

void Pause(long ns) {
  timespec pause{0, ns};
  nanosleep(&pause, nullptr);
}

}  // namespace

PacketSender::PacketSender() : buffers_(kBatch * kGenMaxFrameLen), iov_(kBatch), messages_(kBatch) {
  for (size_t i = 0; i < kBatch; ++i) {
    iov_[i].iov_base = Frame(i);
    std::memset(&messages_[i], 0, sizeof messages_[i]);
    messages_[i].msg_hdr.msg_iov = &iov_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
}

PacketSender::~PacketSender() {
  Close();
}

void PacketSender::Open(const std::string& interface, bool qdisc_bypass) {
  interface_ = interface;
  const unsigned ifindex = if_nametoindex(interface.c_str());
  if (ifindex == 0) {
    throw std::runtime_error("interface \"" + interface + "\" does not exist; check `ip link` for its name");
  }
  // Protocol 0: this socket only sends; it receives nothing.
  socket_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (socket_ < 0) {
    if (errno == EPERM)
      throw std::runtime_error("socket AF_PACKET: permission denied; run as root or grant CAP_NET_RAW");
    throw std::runtime_error(std::string("socket AF_PACKET: ") + std::strerror(errno));
  }
  try {
    ifreq request{};
    std::strncpy(request.ifr_name, interface.c_str(), IFNAMSIZ - 1);
    if (ioctl(socket_, SIOCGIFHWADDR, &request) != 0) {
      throw std::runtime_error("ioctl SIOCGIFHWADDR " + interface + ": " + std::strerror(errno));
    }
    if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
      throw std::runtime_error("interface " + interface + " is not Ethernet (ARPHRD " +
                               std::to_string(request.ifr_hwaddr.sa_family) +
                               "); dicap gen sends Ethernet frames only");
    }
    if (ioctl(socket_, SIOCGIFMTU, &request) != 0) {
      throw std::runtime_error("ioctl SIOCGIFMTU " + interface + ": " + std::strerror(errno));
    }
    if (request.ifr_mtu < static_cast<int>(kGenMaxFrameLen - 14)) {
      throw std::runtime_error("interface " + interface + " has MTU " + std::to_string(request.ifr_mtu) +
                               "; dicap gen sends frames of up to 1514 bytes: raise it with `ip link set " +
                               interface + " mtu 1500`");
    }
    if (qdisc_bypass) {
      const int one = 1;
      if (setsockopt(socket_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) {
        throw std::runtime_error(std::string("setsockopt PACKET_QDISC_BYPASS: ") + std::strerror(errno));
      }
    }
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = 0;
    address.sll_ifindex = static_cast<int>(ifindex);
    if (bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("bind AF_PACKET to " + interface + ": " + std::strerror(errno));
    }
  } catch (...) {
    Close();
    throw;
  }
}

void PacketSender::Close() {
  if (socket_ >= 0) {
    close(socket_);
    socket_ = -1;
  }
}

void PacketSender::Fail(int error_number) const {
  std::string message = "send on " + interface_ + ": " + std::strerror(error_number);
  if (error_number == ENETDOWN) message += "; bring the interface up (`ip link set " + interface_ + " up`)";
  if (error_number == ENXIO || error_number == ENODEV) message += "; the interface went away";
  if (error_number == EMSGSIZE) message += "; its MTU must be at least 1500";
  throw std::runtime_error(message);
}

SendOutcome PacketSender::Send(const uint16_t* lengths, size_t n) {
  SendOutcome outcome;
  for (size_t i = 0; i < n; ++i) iov_[i].iov_len = lengths[i];
  size_t done = 0;
  uint32_t attempts = 0;  // refusals of frame `done` so far
  long pause_ns = kFirstPauseNs;
  while (done < n) {
    const int sent = sendmmsg(socket_, messages_.data() + done, static_cast<unsigned>(n - done), 0);
    if (sent > 0) {
      for (int i = 0; i < sent; ++i) outcome.sent_bytes += lengths[done + i];
      done += static_cast<size_t>(sent);
      outcome.sent += static_cast<uint32_t>(sent);
      attempts = 0;
      pause_ns = kFirstPauseNs;
      // A short count means frame `done` was refused; sendmmsg drops that errno, and the
      // retry below reports it if it persists.
      if (done == n) break;
      ++outcome.refusals;
    } else {
      if (errno == EINTR) continue;
      if (!Transient(errno)) Fail(errno);
      ++outcome.refusals;
      outcome.last_errno = errno;
    }
    if (++attempts >= kMaxAttempts) {
      ++outcome.given_up;
      ++done;
      attempts = 0;
      pause_ns = kFirstPauseNs;
      continue;
    }
    Pause(pause_ns);
    pause_ns = std::min(pause_ns * 2, kLongestPauseNs);
  }
  return outcome;
}

}  // namespace dicap
