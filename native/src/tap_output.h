// A TAP interface as an output (FrameOutput): every frame is written whole-or-cut as it
// arrived into /dev/net/tun, so it appears as received on the interface and any AF_PACKET
// reader (tcpdump -i, Zeek -i, Suricata --af-packet) sees it live, with its own fan-out, and
// can restart without the analyzer noticing. An interface that does not exist is created
// (not persistent: the kernel removes it when the analyzer closes it, also when it dies) and
// brought up with IPv6 off, so the kernel adds no traffic of its own; an existing TAP (say
// `ip tuntap add NAME mode tap`) is attached to and left in place. Needs CAP_NET_ADMIN.
//
// A frame the kernel refuses (shorter than an Ethernet header, the interface down) is
// counted as unwritten with a write error; the output stays open and keeps trying.
#pragma once

#include <atomic>
#include <string>

#include "counter.h"
#include "frame_output.h"

namespace dicap {

class TapOutput : public FrameOutput {
 public:
  explicit TapOutput(std::string name) : name_(std::move(name)) {}
  ~TapOutput() override { Close(); }

  void Open(std::vector<std::string>* notices) override;
  void Write(const OutputFrame& frame) override;
  bool has_buffered() const override { return false; }
  void Flush() override {}
  uint64_t Tick(uint64_t) override { return UINT64_MAX; }
  void Reopen() override {}
  void RequestStop() override {}
  void Close() override;
  const std::string& name() const override { return name_; }
  OutputStatus Status() const override;

 private:
  const std::string name_;
  int fd_ = -1;
  std::atomic<bool> opened_{false};
  std::atomic<OutputState> state_{OutputState::kOpen};
  std::atomic<int> last_errno_{0};
  SingleWriterCounter records_written_;
  SingleWriterCounter records_unwritten_;
  SingleWriterCounter bytes_written_;
  SingleWriterCounter write_errors_;
};

}  // namespace dicap
