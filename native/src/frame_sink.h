// What a frame source hands each frame to (the engine's selection step). Sources call
// it on their own thread, in wire order, with data that is only valid during the call.
#pragma once

#include <cstdint>

namespace dicap {

struct SourceFrame {
  const uint8_t* data;
  uint32_t cap_len;    // bytes at data
  uint32_t wire_len;   // length on the wire
  uint64_t ts_ns;      // Unix nanoseconds
  bool has_vlan;       // the kernel took an 802.1Q tag out of the frame (AF_PACKET)
  uint16_t vlan_tpid;  // that tag, to be put back where it was
  uint16_t vlan_tci;
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void OnFrame(const SourceFrame& frame) = 0;
  // The source has no more frames for now (a ring block is done, a paced file waits, or a
  // wait for frames timed out): hand what is queued over to the export workers
  // (FrameQueue::Flush), or send what is due.
  virtual void EndOfBurst() = 0;
  // The monotonic time by which the source must call EndOfBurst again, frames or not (0:
  // no such time): a lane that exports on the capture thread has batches to flush by then.
  virtual uint64_t NextDeadlineNs() const { return 0; }
};

}  // namespace dicap
