#include "capture_filter.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace dicap {

namespace {

// The highest byte offset an absolute load of the program reads, or 0 if it makes none.
uint32_t HighestAbsoluteLoad(const bpf_program& program) {
  uint32_t highest = 0;
  for (u_int i = 0; i < program.bf_len; ++i) {
    const bpf_insn& insn = program.bf_insns[i];
    if ((BPF_CLASS(insn.code) != BPF_LD && BPF_CLASS(insn.code) != BPF_LDX) || BPF_MODE(insn.code) != BPF_ABS)
      continue;
    const uint32_t size = BPF_SIZE(insn.code) == BPF_W ? 4 : BPF_SIZE(insn.code) == BPF_H ? 2 : 1;
    if (insn.k + size > highest) highest = insn.k + size;
  }
  return highest;
}

}  // namespace

CaptureFilter::CaptureFilter(const std::string& expression, uint32_t snaplen) : program_(new bpf_program{}) {
  // A "dead" handle: no device is opened, libpcap only compiles for Ethernet framing.
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, static_cast<int>(snaplen));
  if (dead == nullptr) throw std::runtime_error("--filter: libpcap could not set up its compiler");
  const int status = pcap_compile(dead, program_.get(), expression.c_str(), 1, PCAP_NETMASK_UNKNOWN);
  const std::string error = status == 0 ? "" : pcap_geterr(dead);
  pcap_close(dead);
  if (status != 0) {
    program_.reset();
    throw std::runtime_error(
        "--filter \"" + expression + "\": " + error +
        "; write a tcpdump-style expression such as \"udp or tcp port 80\" (man pcap-filter)");
  }
  const uint32_t highest = HighestAbsoluteLoad(*program_);
  if (highest > snaplen) {
    pcap_freecode(program_.get());
    program_.reset();
    throw std::runtime_error("--filter \"" + expression + "\" reads up to byte " + std::to_string(highest) +
                             " of a frame but only " + std::to_string(snaplen) +
                             " are kept; raise --snaplen to at least " + std::to_string(highest));
  }
}

CaptureFilter::~CaptureFilter() {
  if (program_) pcap_freecode(program_.get());
}

bool CaptureFilter::Matches(const uint8_t* frame, uint32_t cap_len, uint32_t wire_len) const {
  return bpf_filter(program_->bf_insns, frame, wire_len, cap_len) != 0;
}

}  // namespace dicap
