// Encodes SPEC.md §3 header-batch datagrams in place, into a caller-owned buffer.
#pragma once

#include <cstdint>
#include <cstring>

#include "byte_order.h"
#include "frame_queue.h"

namespace dicap {

constexpr uint32_t kHeaderBatchMagic = 0x44434842;  // "DCHB"
constexpr size_t kHeaderBatchHeaderSize = 28;
constexpr size_t kHeaderBatchRecordHeaderSize = 12;
constexpr size_t kDefaultBatchPayload = 1472;

class HeaderBatchWriter {
 public:
  // Starts a datagram in `buffer` (at least `capacity` bytes).
  void Begin(uint8_t* buffer, size_t capacity, uint32_t node_id, uint32_t epoch, uint16_t stream,
             uint64_t seq) {
    buffer_ = buffer;
    capacity_ = capacity;
    StoreBe32(buffer, kHeaderBatchMagic);
    buffer[4] = 1;  // version
    buffer[5] = 1;  // flags: records start at the Ethernet header
    StoreBe16(buffer + 6, 0);
    StoreBe32(buffer + 8, node_id);
    StoreBe32(buffer + 12, epoch);
    StoreBe16(buffer + 16, stream);
    StoreBe16(buffer + 18, 0);
    StoreBe64(buffer + 20, seq);
    length_ = kHeaderBatchHeaderSize;
    count_ = 0;
  }

  // Appends one record; false (and nothing written) when it does not fit.
  bool Append(const QueuedFrame& frame) {
    const size_t need = kHeaderBatchRecordHeaderSize + frame.cap_len;
    if (length_ + need > capacity_ || count_ == 0xFFFF) return false;
    uint8_t* p = buffer_ + length_;
    StoreBe32(p, static_cast<uint32_t>(frame.ts_ns / 1000000000ull));
    StoreBe32(p + 4, static_cast<uint32_t>(frame.ts_ns % 1000000000ull));
    StoreBe16(p + 8, frame.wire_len > 0xFFFF ? 0xFFFF : static_cast<uint16_t>(frame.wire_len));
    StoreBe16(p + 10, static_cast<uint16_t>(frame.cap_len));
    std::memcpy(p + kHeaderBatchRecordHeaderSize, frame.data(), frame.cap_len);
    length_ += need;
    ++count_;
    StoreBe16(buffer_ + 6, count_);
    return true;
  }

  uint16_t count() const { return count_; }
  size_t length() const { return length_; }

 private:
  uint8_t* buffer_ = nullptr;
  size_t capacity_ = 0;
  size_t length_ = 0;
  uint16_t count_ = 0;
};

}  // namespace dicap
