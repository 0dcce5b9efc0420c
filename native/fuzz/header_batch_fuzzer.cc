// libFuzzer target: the analyzer's datagram path without its socket — the header-batch
// reader (ReadHeaderBatch, header_batch.h), the MAC check (HeaderBatchMac) and the
// accounting behind it (BatchAccounting: admission, per-stream sequence, reassembly of
// records split over datagrams), with small limits so that every bound is reached.
//
// Input: byte 0 picks whether a topology restricts the senders (bit 0); then datagrams,
// each as flags (u8), milliseconds since the previous one (u8), length (u16, big-endian)
// and that many bytes. Flags bit 0: a datagram with the MAC flag gets a valid MAC (random
// bytes never carry one). Beyond memory safety: the bounds hold (nodes, streams,
// reassembly bytes), a record handed out for writing lies inside its datagram, and a
// datagram delivered twice in a row is a duplicate the second time and reveals no lost
// datagrams (unless the restart rule applies, see below).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "batch_accounting.h"
#include "header_batch.h"
#include "header_batch_mac.h"
#include "stream_sequence.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

volatile uint64_t record_byte_sum;  // keeps the reads of every record byte

dicap::HeaderBatchMac& Mac() {
  static dicap::HeaderBatchMac mac(std::array<uint8_t, dicap::kBatchKeySize>{1, 2, 3, 4, 5, 6, 7, 8});
  return mac;
}

constexpr dicap::AccountingLimits kLimits{4, 4, 5'000'000'000, 1'000'000'000, 256 * 1024, 300'000'000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  dicap::BatchAccounting accounting(kLimits);
  uint64_t now_ns = 1'000'000'000;
  if (data[0] & 1) accounting.SetTopologyNodes({11, 22, 33}, now_ns);
  uint64_t sum = 0;
  size_t at = 1;
  while (at + 4 <= size) {
    const uint8_t flags = data[at];
    now_ns += uint64_t{data[at + 1]} * 1'000'000;
    const size_t declared = size_t{data[at + 2]} << 8 | data[at + 3];
    at += 4;
    const size_t len = declared < size - at ? declared : size - at;
    std::vector<uint8_t> datagram(data + at, data + at + len);  // exactly sized for ASan
    at += len;
    if ((flags & 1) && datagram.size() >= dicap::kHeaderBatchHeaderSize + dicap::kHeaderBatchMacSize &&
        (datagram[5] & dicap::kHeaderBatchFlagMac)) {
      const size_t signed_length = datagram.size() - dicap::kHeaderBatchMacSize;
      Mac().Sign(datagram.data(), signed_length, datagram.data() + signed_length);
    }

    dicap::HeaderBatchView view{};
    if (dicap::ReadHeaderBatch(datagram.data(), datagram.size(), &view)) continue;
    Require(view.signed_length <= datagram.size());
    if (view.mac != nullptr && !Mac().Verify(datagram.data(), view.signed_length, view.mac)) continue;

    for (int delivery = 0; delivery < 2; ++delivery) {
      const dicap::BatchOutcome outcome = accounting.Account(view, datagram.size(), now_ns);
      if (outcome.write_records) {
        Require(!view.fragment());
        dicap::ForEachGoodRecord(view, [&](const dicap::BatchRecordHeader& record, const uint8_t* bytes) {
          Require(bytes >= datagram.data() && bytes + record.cap_len <= datagram.data() + datagram.size());
          for (uint16_t i = 0; i < record.cap_len; ++i) sum += bytes[i];
        });
      }
      if (outcome.whole != nullptr) {
        for (uint32_t i = 0; i < outcome.whole_record.cap_len; ++i) sum += outcome.whole[i];
      }
    }
    accounting.Maintain(now_ns);
    const dicap::AccountingTotals totals = accounting.Totals();
    Require(totals.reassembly_bytes <= kLimits.reassembly_bytes);
    const std::vector<dicap::NodeCounters> nodes = accounting.Nodes();
    Require(nodes.size() <= kLimits.max_nodes);
    for (const dicap::NodeCounters& node : nodes) Require(node.streams <= kLimits.max_streams_per_node);
  }
  record_byte_sum = sum;

  // The sequence accounting alone, on the same bytes as (epoch u32, seq u64, capture time
  // u64: 0 for a datagram without frames) arrivals, each delivered twice. The second
  // delivery holds frames the stream has delivered, so it is a duplicate; without frames,
  // SPEC §6.1's fallback may read it as a restart: seq 0, or an epoch other than that of the
  // highest seq.
  dicap::StreamSequence sequence;
  for (size_t offset = 1; offset + 20 <= size; offset += 20) {
    const uint32_t epoch = dicap::LoadBe32(data + offset);
    const uint64_t seq = dicap::LoadBe64(data + offset + 4);
    const uint64_t captured_ns = dicap::LoadBe64(data + offset + 12);
    dicap::CaptureSpan captured;
    if (captured_ns != 0) captured = {true, captured_ns, captured_ns | 0xffff};  // oldest ≤ newest
    uint64_t gap = 0;
    sequence.Account(epoch, seq, captured, &gap);
    Require(gap <= dicap::StreamSequence::kMaxGap);
    const bool may_restart = !captured.any && (seq == 0 || epoch != sequence.epoch());
    const dicap::SeqVerdict again = sequence.Account(epoch, seq, captured, &gap);
    // A restart with a seq above 2^20 is a jump (SPEC §6.1 b).
    const bool restarted = again == dicap::SeqVerdict::kNewRun || again == dicap::SeqVerdict::kJump;
    if (!restarted || !may_restart) Require(gap == 0);
    Require(again == dicap::SeqVerdict::kDuplicate || (may_restart && restarted));
  }
  return 0;
}
