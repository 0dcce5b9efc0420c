// One place the analyzer writes frames to: a capture file, a FIFO, standard output
// (file_output.h) or a TAP interface (tap_output.h). FrameOutputs (frame_outputs.h) owns one
// or several (--split) and calls them from the sink thread only; Status() may be read from
// any thread.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "pcap_writer.h"

namespace dicap {

// Opening an output failed; the message names the path or interface and the failing call.
class OutputOpenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FrameOutput {
 public:
  virtual ~FrameOutput() = default;
  // Opens at start. Adds a line to `notices` for anything a person should know (a file moved
  // aside, a FIFO without reader). Throws OutputOpenError.
  virtual void Open(std::vector<std::string>* notices) = 0;
  virtual void Write(const OutputFrame& frame) = 0;
  virtual bool has_buffered() const = 0;
  virtual void Flush() = 0;
  // Periodic duties (rotation by time, looking for a FIFO reader). Returns the monotonic
  // time it wants to be called again, or UINT64_MAX for never.
  virtual uint64_t Tick(uint64_t now_ns) = 0;
  // SIGHUP: start a new file (the old one moved aside if still there); no-op where meaningless.
  virtual void Reopen() = 0;
  virtual void RequestStop() = 0;
  // Flushes and closes; safe to call twice.
  virtual void Close() = 0;
  // What Status() reports as this output's name: its path or interface name.
  virtual const std::string& name() const = 0;
  virtual OutputStatus Status() const = 0;
};

}  // namespace dicap
