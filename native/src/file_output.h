// A capture file output (FrameOutput) at one path:
//  - a regular file is created 0640 (less with a stricter umask) and never overwrites a
//    capture: a non-empty file already at the path is first renamed to PATH.N (the next free
//    N, one notice line says so); if another process creates the path in between, opening
//    fails instead of truncating. Rotation (by time, size) closes the current file and
//    renames it to PATH.N the same way, so PATH is always the newest file and a larger N a
//    newer one; `keep` bounds the files (current + rotated) of this run, deleting the oldest
//    rotated file this run made (never older captures). Reopen() (SIGHUP) rotates.
//  - a FIFO is opened without blocking; while it has no reader, and after a reader left,
//    records are counted unwritten and the FIFO is tried again every kFifoRetryMs; each
//    new reader gets a whole capture stream (file header first).
//  - standard output ("-") and character devices (/dev/null) are written as they are; a
//    reader closing standard output ends this output (reader-closed).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "frame_output.h"

namespace dicap {

struct RotationPolicy {
  uint64_t interval_ns = 0;  // 0: not by time
  uint64_t max_bytes = 0;    // 0: not by size
  uint32_t keep = 0;         // files of this run to keep, the current one included; 0: all
  bool enabled() const { return interval_ns != 0 || max_bytes != 0; }
};

class FileOutput : public FrameOutput {
 public:
  static constexpr uint64_t kFifoRetryMs = 250;

  FileOutput(std::string path, CaptureFormat format, uint32_t snaplen, size_t buffer_bytes,
             RotationPolicy rotation);
  ~FileOutput() override { Close(); }

  void Open(std::vector<std::string>* notices) override;
  void Write(const OutputFrame& frame) override;
  bool has_buffered() const override { return writer_.has_buffered(); }
  void Flush() override;
  uint64_t Tick(uint64_t now_ns) override;
  void Reopen() override;
  void RequestStop() override { writer_.RequestStop(); }
  void Close() override { writer_.Close(); }
  const std::string& name() const override { return path_; }
  OutputStatus Status() const override;

 private:
  enum class Kind { kRegular, kFifo, kAsIs };
  // Creates a fresh regular file at path_ (moving a capture there aside first).
  int CreateRegular(std::vector<std::string>* notices);
  // Renames path_ to the next free path_.N; returns that name, or "" when path_ is gone.
  std::string MoveAside();
  void Rotate();
  bool TryOpenFifo();
  void AfterWrite();

  const std::string path_;
  const RotationPolicy rotation_;
  Kind kind_ = Kind::kAsIs;
  PcapWriter writer_;
  uint64_t next_suffix_ = 1;
  uint64_t opened_at_ns_ = 0;
  uint64_t next_fifo_try_ns_ = 0;
  std::deque<std::string> rotated_;  // files this run rotated, oldest first
  SingleWriterCounter files_;
};

}  // namespace dicap
