// Encodes PROTOCOL.md §3 header-batch datagrams in place, into a caller-owned buffer.
#pragma once

#include <cstdint>
#include <cstring>

#include "frame_queue.h"

namespace dicap {

constexpr uint32_t kHeaderBatchMagic = 0x44434842;  // "DCHB"
constexpr size_t kHeaderBatchHeaderSize = 28;
constexpr size_t kHeaderBatchRecordHeaderSize = 12;
constexpr size_t kDefaultBatchPayload = 1472;

inline void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void PutU64(uint8_t* p, uint64_t v) {
  PutU32(p, static_cast<uint32_t>(v >> 32));
  PutU32(p + 4, static_cast<uint32_t>(v));
}

class HeaderBatchWriter {
 public:
  // Starts a datagram in `buffer` (at least `capacity` bytes).
  void Begin(uint8_t* buffer, size_t capacity, uint32_t node_id, uint32_t epoch, uint16_t stream, uint64_t seq) {
    buffer_ = buffer;
    capacity_ = capacity;
    PutU32(buffer, kHeaderBatchMagic);
    buffer[4] = 1;  // version
    buffer[5] = 1;  // flags: records start at the Ethernet header
    PutU16(buffer + 6, 0);
    PutU32(buffer + 8, node_id);
    PutU32(buffer + 12, epoch);
    PutU16(buffer + 16, stream);
    PutU16(buffer + 18, 0);
    PutU64(buffer + 20, seq);
    length_ = kHeaderBatchHeaderSize;
    count_ = 0;
  }

  // Appends one record; false (and nothing written) when it does not fit.
  bool Append(const QueuedFrame& frame) {
    const size_t need = kHeaderBatchRecordHeaderSize + frame.cap_len;
    if (length_ + need > capacity_ || count_ == 0xFFFF) return false;
    uint8_t* p = buffer_ + length_;
    PutU32(p, static_cast<uint32_t>(frame.ts_ns / 1000000000ull));
    PutU32(p + 4, static_cast<uint32_t>(frame.ts_ns % 1000000000ull));
    PutU16(p + 8, frame.wire_len > 0xFFFF ? 0xFFFF : static_cast<uint16_t>(frame.wire_len));
    PutU16(p + 10, static_cast<uint16_t>(frame.cap_len));
    std::memcpy(p + kHeaderBatchRecordHeaderSize, frame.data(), frame.cap_len);
    length_ += need;
    ++count_;
    PutU16(buffer_ + 6, count_);
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
