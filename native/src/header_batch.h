// The header-batch datagram (protocol/SPEC.md §3 and §6.5): its constants, its reader and its
// writer, in one place. protocol/header-batch.ts is the TypeScript twin (same checks, same
// order, same names). The reader is a pure function over (bytes, length): it never reads
// past `length`, allocates nothing and has no state, so a fuzz target can call it directly.
// The MAC (flag bit 2) is only located here; header_batch_mac.h computes and checks it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>

#include "byte_order.h"
#include "named_values.h"

namespace dicap {

constexpr uint32_t kHeaderBatchMagic = 0x44434842;  // "DCHB"
constexpr uint8_t kHeaderBatchVersion = 1;
constexpr uint8_t kHeaderBatchFlagEthernet = 0x01;  // record bytes start at the Ethernet header (always set)
constexpr uint8_t kHeaderBatchFlagFragment = 0x02;  // one piece of one record too large for a datagram
constexpr uint8_t kHeaderBatchFlagMac = 0x04;       // a 16-byte MAC ends the datagram
constexpr uint8_t kHeaderBatchFlagPadded = 0x08;    // zero bytes follow the last record (whole records only)
constexpr uint8_t kHeaderBatchKnownFlags =
    kHeaderBatchFlagEthernet | kHeaderBatchFlagFragment | kHeaderBatchFlagMac | kHeaderBatchFlagPadded;
constexpr size_t kHeaderBatchHeaderSize = 28;
constexpr size_t kHeaderBatchRecordHeaderSize = 12;
constexpr size_t kHeaderBatchFragmentHeaderSize = kHeaderBatchRecordHeaderSize + 4;  // + fragment offset u32
constexpr size_t kHeaderBatchMacSize = 16;
constexpr size_t kDefaultBatchPayload = 1472;
constexpr uint32_t kMaxRecordCapLen = 0xFFFF;  // cap_len is u16: the whole of any frame up to 65535 bytes

// Why a datagram is rejected by the reader. The names are protocol/header-batch.ts's codes.
enum class BatchReject : int {
  kShort,
  kBadMagic,
  kBadVersion,
  kBadFlags,
  kBadReserved,
  kRecordOverrun,
  kCountMismatch,
  kTrailingBytes,
  kBadFragment,
};
constexpr size_t kBatchReaderRejectCount = static_cast<size_t>(BatchReject::kBadFragment) + 1;

constexpr NamedValue<BatchReject> kBatchRejectNames[] = {{BatchReject::kShort, "SHORT"},
                                                         {BatchReject::kBadMagic, "BAD_MAGIC"},
                                                         {BatchReject::kBadVersion, "BAD_VERSION"},
                                                         {BatchReject::kBadFlags, "BAD_FLAGS"},
                                                         {BatchReject::kBadReserved, "BAD_RESERVED"},
                                                         {BatchReject::kRecordOverrun, "RECORD_OVERRUN"},
                                                         {BatchReject::kCountMismatch, "COUNT_MISMATCH"},
                                                         {BatchReject::kTrailingBytes, "TRAILING_BYTES"},
                                                         {BatchReject::kBadFragment, "BAD_FRAGMENT"}};
static_assert(std::size(kBatchRejectNames) == kBatchReaderRejectCount, "every BatchReject has a name");

inline const char* BatchRejectName(BatchReject reason) {
  return NameOf(kBatchRejectNames, reason, "UNKNOWN");
}

struct BatchRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_nsec;
  uint16_t wire_len;
  uint16_t cap_len;
};

inline BatchRecordHeader LoadRecordHeader(const uint8_t* p) {
  return BatchRecordHeader{LoadBe32(p), LoadBe32(p + 4), LoadBe16(p + 8), LoadBe16(p + 10)};
}

// A record whose header cannot describe a frame (ts_nsec ≥ 10⁹, or more bytes captured than
// were on the wire). Such a record is skipped and counted; the rest of its datagram is kept.
inline bool RecordIsBad(const BatchRecordHeader& r) {
  return r.ts_nsec > 999999999u || r.cap_len > r.wire_len;
}

// A datagram the reader accepted. Pointers point into the caller's bytes.
struct HeaderBatchView {
  uint8_t flags;
  uint16_t count;  // records (1 in a fragment)
  uint32_t node_id;
  uint32_t epoch;
  uint16_t stream;
  uint64_t seq;
  const uint8_t* records;  // first record (or the fragment header)
  size_t records_length;   // bytes from `records` to the MAC (or the end)
  const uint8_t* mac;      // the 16-byte MAC, or nullptr
  size_t signed_length;    // bytes the MAC covers: everything before it
  uint16_t bad_records;    // records of a whole-record datagram for which RecordIsBad holds

  bool fragment() const { return flags & kHeaderBatchFlagFragment; }
};

// One piece of a fragmented record (flag bit 1).
struct BatchFragment {
  BatchRecordHeader record;  // cap_len is the whole record's
  uint32_t offset;           // where `bytes` go in the record
  const uint8_t* bytes;
  size_t length;  // at least 1; offset + length ≤ record.cap_len
};

inline BatchFragment FragmentOf(const HeaderBatchView& view) {
  return BatchFragment{LoadRecordHeader(view.records), LoadBe32(view.records + kHeaderBatchRecordHeaderSize),
                       view.records + kHeaderBatchFragmentHeaderSize,
                       view.records_length - kHeaderBatchFragmentHeaderSize};
}

// Checks a whole datagram's structure, never reading past `length`. Returns why it is
// malformed, or nothing (and fills `view`). Records that fail RecordIsBad do not reject the
// datagram: they are counted in view->bad_records and ForEachGoodRecord skips them.
inline std::optional<BatchReject> ReadHeaderBatch(const uint8_t* data, size_t length, HeaderBatchView* view) {
  if (length < kHeaderBatchHeaderSize) return BatchReject::kShort;
  if (LoadBe32(data) != kHeaderBatchMagic) return BatchReject::kBadMagic;
  if (data[4] != kHeaderBatchVersion) return BatchReject::kBadVersion;
  const uint8_t flags = data[5];
  if (!(flags & kHeaderBatchFlagEthernet) || (flags & ~kHeaderBatchKnownFlags) ||
      ((flags & kHeaderBatchFlagFragment) && (flags & kHeaderBatchFlagPadded)))
    return BatchReject::kBadFlags;
  if (LoadBe16(data + 18) != 0) return BatchReject::kBadReserved;
  const size_t mac_size = (flags & kHeaderBatchFlagMac) ? kHeaderBatchMacSize : 0;
  if (length < kHeaderBatchHeaderSize + mac_size) return BatchReject::kShort;
  const size_t end = length - mac_size;
  const uint16_t count = LoadBe16(data + 6);
  uint16_t bad = 0;
  if (flags & kHeaderBatchFlagFragment) {
    if (count != 1 || end < kHeaderBatchHeaderSize + kHeaderBatchFragmentHeaderSize + 1)
      return BatchReject::kBadFragment;
    const uint8_t* p = data + kHeaderBatchHeaderSize;
    const BatchRecordHeader record = LoadRecordHeader(p);
    const uint64_t offset = LoadBe32(p + kHeaderBatchRecordHeaderSize);
    const size_t piece = end - kHeaderBatchHeaderSize - kHeaderBatchFragmentHeaderSize;
    if (RecordIsBad(record) || offset + piece > record.cap_len) return BatchReject::kBadFragment;
  } else {
    size_t offset = kHeaderBatchHeaderSize;
    for (uint16_t i = 0; i < count; ++i) {
      if (offset == end) return BatchReject::kCountMismatch;
      if (offset + kHeaderBatchRecordHeaderSize > end) return BatchReject::kRecordOverrun;
      const BatchRecordHeader record = LoadRecordHeader(data + offset);
      const size_t next = offset + kHeaderBatchRecordHeaderSize + record.cap_len;
      if (next > end) return BatchReject::kRecordOverrun;
      if (RecordIsBad(record)) ++bad;
      offset = next;
    }
    if (offset != end) {
      if (!(flags & kHeaderBatchFlagPadded)) return BatchReject::kTrailingBytes;
      for (size_t i = offset; i < end; ++i)
        if (data[i] != 0) return BatchReject::kTrailingBytes;
    }
  }
  *view = HeaderBatchView{flags,
                          count,
                          LoadBe32(data + 8),
                          LoadBe32(data + 12),
                          LoadBe16(data + 16),
                          LoadBe64(data + 20),
                          data + kHeaderBatchHeaderSize,
                          end - kHeaderBatchHeaderSize,
                          mac_size != 0 ? data + end : nullptr,
                          end,
                          bad};
  return std::nullopt;
}

// Calls f(const BatchRecordHeader&, const uint8_t* bytes) for every good record of a
// whole-record datagram that ReadHeaderBatch accepted.
template <typename F>
void ForEachGoodRecord(const HeaderBatchView& view, F&& f) {
  const uint8_t* p = view.records;
  for (uint16_t i = 0; i < view.count; ++i) {
    const BatchRecordHeader record = LoadRecordHeader(p);
    if (!RecordIsBad(record)) f(record, p + kHeaderBatchRecordHeaderSize);
    p += kHeaderBatchRecordHeaderSize + record.cap_len;
  }
}

// When the frames of a datagram (or of a run of them) were captured: the oldest and newest
// record (a fragment's record), in ns since the epoch. `any` is false while there is none.
struct CaptureSpan {
  bool any = false;
  uint64_t oldest_ns = 0;
  uint64_t newest_ns = 0;

  void Include(uint64_t ns) {
    oldest_ns = any ? std::min(oldest_ns, ns) : ns;
    newest_ns = any ? std::max(newest_ns, ns) : ns;
    any = true;
  }
};

inline CaptureSpan CaptureSpanOf(const HeaderBatchView& view) {
  CaptureSpan span;
  auto include = [&span](const BatchRecordHeader& r) {
    span.Include(uint64_t{r.ts_sec} * 1'000'000'000u + r.ts_nsec);
  };
  if (view.fragment()) {
    include(FragmentOf(view).record);
  } else {
    ForEachGoodRecord(view, [&include](const BatchRecordHeader& r, const uint8_t*) { include(r); });
  }
  return span;
}

// Writes datagrams in place, into a caller-owned buffer of `capacity` bytes (the UDP
// payload size). With `mac` set, the last kHeaderBatchMacSize bytes of the capacity are kept
// for the MAC, which the caller writes over signed_length() bytes after the last Append.
class HeaderBatchWriter {
 public:
  // Starts a datagram of whole records.
  void Begin(uint8_t* buffer, size_t capacity, uint32_t node_id, uint32_t epoch, uint16_t stream,
             uint64_t seq, bool mac) {
    buffer_ = buffer;
    limit_ = capacity - (mac ? kHeaderBatchMacSize : 0);
    mac_ = mac;
    WriteHeader(node_id, epoch, stream, seq, kHeaderBatchFlagEthernet | (mac ? kHeaderBatchFlagMac : 0));
    length_ = kHeaderBatchHeaderSize;
    records_ = 0;
  }

  // Appends one whole record; false (and nothing written) when it does not fit.
  bool Append(uint64_t ts_ns, uint32_t wire_len, const uint8_t* data, uint32_t cap_len) {
    const size_t need = kHeaderBatchRecordHeaderSize + cap_len;
    if (length_ + need > limit_ || records_ == 0xFFFF) return false;
    WriteRecordHeader(buffer_ + length_, ts_ns, wire_len, cap_len);
    std::memcpy(buffer_ + length_ + kHeaderBatchRecordHeaderSize, data, cap_len);
    length_ += need;
    ++records_;
    StoreBe16(buffer_ + 6, records_);
    return true;
  }

  // Writes a fragment datagram: bytes [offset, offset + n) of a record of `cap_len` bytes, n
  // as many as fit. Returns n (the caller advances `offset` by it).
  size_t WriteFragment(uint8_t* buffer, size_t capacity, uint32_t node_id, uint32_t epoch, uint16_t stream,
                       uint64_t seq, bool mac, uint64_t ts_ns, uint32_t wire_len, const uint8_t* data,
                       uint32_t cap_len, uint32_t offset) {
    buffer_ = buffer;
    limit_ = capacity - (mac ? kHeaderBatchMacSize : 0);
    mac_ = mac;
    WriteHeader(node_id, epoch, stream, seq,
                kHeaderBatchFlagEthernet | kHeaderBatchFlagFragment | (mac ? kHeaderBatchFlagMac : 0));
    StoreBe16(buffer + 6, 1);
    uint8_t* p = buffer + kHeaderBatchHeaderSize;
    WriteRecordHeader(p, ts_ns, wire_len, cap_len);
    StoreBe32(p + kHeaderBatchRecordHeaderSize, offset);
    const size_t room = limit_ - kHeaderBatchHeaderSize - kHeaderBatchFragmentHeaderSize;
    const size_t n = cap_len - offset < room ? cap_len - offset : room;
    std::memcpy(p + kHeaderBatchFragmentHeaderSize, data + offset, n);
    length_ = kHeaderBatchHeaderSize + kHeaderBatchFragmentHeaderSize + n;
    // Only the last piece completes a record, so only it counts as one.
    records_ = offset + n == cap_len ? 1 : 0;
    return n;
  }

  // Fills the datagram of whole records up to its capacity with zero bytes (flag bit 3), so
  // that full datagrams of different records all have the one length a UDP GSO write needs.
  void Pad() {
    if (length_ == limit_) return;
    std::memset(buffer_ + length_, 0, limit_ - length_);
    buffer_[5] |= kHeaderBatchFlagPadded;
    length_ = limit_;
  }

  // Whole records that fit in an empty datagram of `capacity` bytes are never fragmented.
  static bool FitsWhole(size_t capacity, bool mac, uint32_t cap_len) {
    return kHeaderBatchHeaderSize + kHeaderBatchRecordHeaderSize + cap_len +
               (mac ? kHeaderBatchMacSize : 0) <=
           capacity;
  }

  // Records this datagram delivers when it arrives (whole records; 1 for a last fragment).
  uint16_t records() const { return records_; }
  // Bytes the MAC covers; the MAC goes right after them.
  size_t signed_length() const { return length_; }
  // The datagram's length, MAC included.
  size_t length() const { return length_ + (mac_ ? kHeaderBatchMacSize : 0); }
  uint8_t* buffer() const { return buffer_; }

 private:
  void WriteHeader(uint32_t node_id, uint32_t epoch, uint16_t stream, uint64_t seq, uint8_t flags) {
    StoreBe32(buffer_, kHeaderBatchMagic);
    buffer_[4] = kHeaderBatchVersion;
    buffer_[5] = flags;
    StoreBe16(buffer_ + 6, 0);
    StoreBe32(buffer_ + 8, node_id);
    StoreBe32(buffer_ + 12, epoch);
    StoreBe16(buffer_ + 16, stream);
    StoreBe16(buffer_ + 18, 0);
    StoreBe64(buffer_ + 20, seq);
  }

  static void WriteRecordHeader(uint8_t* p, uint64_t ts_ns, uint32_t wire_len, uint32_t cap_len) {
    StoreBe32(p, static_cast<uint32_t>(ts_ns / 1000000000ull));
    StoreBe32(p + 4, static_cast<uint32_t>(ts_ns % 1000000000ull));
    StoreBe16(p + 8, wire_len > 0xFFFF ? 0xFFFF : static_cast<uint16_t>(wire_len));
    StoreBe16(p + 10, static_cast<uint16_t>(cap_len));
  }

  uint8_t* buffer_ = nullptr;
  size_t limit_ = 0;  // capacity less the MAC's room
  size_t length_ = 0;
  uint16_t records_ = 0;
  bool mac_ = false;
};

}  // namespace dicap
