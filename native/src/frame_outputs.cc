#include "frame_outputs.h"

#include <algorithm>
#include <iterator>

#include "counter_fields.h"
#include "frame_key.h"
#include "monotonic_clock.h"
#include "tap_output.h"

namespace dicap {

namespace {

// Output states from the least to the most serious: when outputs disagree, the total shows the
// most serious one, the one that needs a person.
constexpr OutputState kLeastSeriousFirst[] = {OutputState::kClosed,   OutputState::kOpen,
                                              OutputState::kNoReader, OutputState::kReaderClosed,
                                              OutputState::kStalled,  OutputState::kFailed};

int Severity(OutputState s) {
  return static_cast<int>(std::find(std::begin(kLeastSeriousFirst), std::end(kLeastSeriousFirst), s) -
                          std::begin(kLeastSeriousFirst));
}

}  // namespace

std::string OutputName(OutputKind kind, const std::string& target, uint32_t index, uint32_t count) {
  if (count <= 1) return target;
  const std::string number = std::to_string(index);
  if (kind == OutputKind::kTap) return target + number;
  const size_t slash = target.rfind('/');
  const size_t dot = target.rfind('.');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  if (dot == std::string::npos || dot <= name_start) return target + number;
  return target.substr(0, dot) + number + target.substr(dot);
}

FrameOutputs::FrameOutputs(const FrameOutputsOptions& options)
    : flush_interval_ns_(uint64_t{options.flush_interval_ms} * 1000000) {
  const uint32_t count = std::max(options.split, 1u);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string name = OutputName(options.kind, options.target, i, count);
    if (options.kind == OutputKind::kTap) {
      outputs_.push_back(std::make_unique<TapOutput>(name));
    } else {
      outputs_.push_back(std::make_unique<FileOutput>(name, options.format, options.snaplen,
                                                      options.buffer_bytes, options.rotation));
    }
  }
  if (options.reorder_ms != 0) {
    reorder_ = std::make_unique<ReorderWindow>(uint64_t{options.reorder_ms} * 1000000, kReorderMaxBytes,
                                               [this](const OutputFrame& f) { Route(f); });
  }
}

void FrameOutputs::Open(std::vector<std::string>* notices) {
  last_flush_ns_ = MonotonicNs();
  try {
    for (auto& output : outputs_) output->Open(notices);
  } catch (...) {
    for (auto& output : outputs_) output->Close();
    throw;
  }
}

void FrameOutputs::Route(const OutputFrame& frame) {
  if (outputs_.size() == 1) {
    outputs_[0]->Write(frame);
    return;
  }
  const FrameKey key = ParseFrameKey(frame.data, frame.cap_len);
  // Runts have no key and go to output 0, as they go to position 0 in selection.
  const uint32_t index = key.l3_offset == 0 ? 0 : FlowHash(key, 0) % outputs_.size();
  outputs_[index]->Write(frame);
}

void FrameOutputs::Write(const OutputFrame& frame, uint64_t now_ns) {
  if (reorder_) {
    reorder_->Add(frame, now_ns);
  } else {
    Route(frame);
  }
}

int FrameOutputs::Service(uint64_t now_ns) {
  uint64_t next = UINT64_MAX;
  if (reorder_) next = std::min(next, reorder_->Release(now_ns));
  if (reopen_requested_.exchange(false, std::memory_order_relaxed)) {
    for (auto& output : outputs_) output->Reopen();
  }
  bool buffered = false;
  for (auto& output : outputs_) buffered = buffered || output->has_buffered();
  if (buffered && now_ns >= last_flush_ns_ + flush_interval_ns_) {
    for (auto& output : outputs_) output->Flush();
    last_flush_ns_ = now_ns;
    buffered = false;
    for (auto& output : outputs_) buffered = buffered || output->has_buffered();
  }
  if (buffered) next = std::min(next, last_flush_ns_ + flush_interval_ns_);
  for (auto& output : outputs_) next = std::min(next, output->Tick(now_ns));
  if (next == UINT64_MAX) return -1;
  if (next <= now_ns) return 0;
  return static_cast<int>(std::min<uint64_t>((next - now_ns) / 1000000 + 1, 60000));
}

void FrameOutputs::RequestStop() {
  for (auto& output : outputs_) output->RequestStop();
}

void FrameOutputs::Close() {
  if (reorder_) reorder_->ReleaseAll();
  for (auto& output : outputs_) output->Close();
}

FrameOutputsCounters FrameOutputs::Counters() const {
  FrameOutputsCounters c;
  c.total.state = OutputState::kClosed;
  for (const auto& output : outputs_) {
    const OutputStatus s = output->Status();
    c.outputs.push_back({output->name(), s});
    AddCounts(c.total, s);
    if (Severity(s.state) >= Severity(c.total.state)) {
      c.total.state = s.state;
      c.total.error_number = s.error_number;
    }
  }
  if (reorder_) {
    c.reorder_late_records = reorder_->late_records();
    c.reorder_held_records = reorder_->held_records();
  }
  return c;
}

}  // namespace dicap
