// `--filter EXPR`: a tcpdump-style capture filter, compiled once by libpcap's filter compiler
// and run by the capture threads on each frame before selection.
//
// It runs in user space on the bytes the ring kept (the first snaplen bytes, after the kernel
// took the outer VLAN tag out), not in the kernel beside the ring's snaplen program: a
// classic BPF program in the kernel drops what it rejects without a trace, and also drops
// every frame too short for one of its loads, so neither could be counted. Here every
// rejected frame is counted (EngineCounters::filtered). A load past the kept bytes rejects
// the frame (counted); an expression whose fixed offsets reach past the snaplen is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

struct bpf_program;

namespace dicap {

class CaptureFilter {
 public:
  // Throws std::runtime_error with one line: libpcap's own message and the fix.
  CaptureFilter(const std::string& expression, uint32_t snaplen);
  ~CaptureFilter();
  CaptureFilter(const CaptureFilter&) = delete;
  CaptureFilter& operator=(const CaptureFilter&) = delete;

  // Any thread (the program is read only). `wire_len` answers the filter's `len` / `greater`.
  bool Matches(const uint8_t* frame, uint32_t cap_len, uint32_t wire_len) const;

 private:
  std::unique_ptr<bpf_program> program_;
};

}  // namespace dicap
