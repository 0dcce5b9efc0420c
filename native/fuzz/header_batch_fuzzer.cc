// libFuzzer target: the analyzer's datagram decoder (ValidateHeaderBatch, analyzer_sink.h)
// on any bytes as one header-batch datagram, and its sequence accounting (StreamSequence)
// on the same bytes read as a run of (epoch u32, seq u64) arrivals — seq 0 followed by
// 2^64-1 is one of the inputs that once broke the analyzer (issue 11 case 2).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "analyzer_sink.h"
#include "byte_order.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dicap::BatchHeader header{};
  const std::optional<dicap::BatchReject> reject = dicap::ValidateHeaderBatch(data, size, &header);
  if (reject) {
    Require(std::strlen(dicap::BatchRejectName(*reject)) > 0);
  } else {
    Require(size >= 28);  // a whole header, SPEC §3
  }

  dicap::StreamSequence sequence;
  for (size_t at = 0; at + 12 <= size; at += 12) {
    uint64_t gap = 0;
    const uint32_t epoch = dicap::LoadBe32(data + at);
    const uint64_t seq = dicap::LoadBe64(data + at + 4);
    const dicap::SeqVerdict verdict = sequence.Account(epoch, seq, &gap);
    Require(gap == 0 || verdict == dicap::SeqVerdict::kGap || verdict == dicap::SeqVerdict::kNewRun);
  }
  return 0;
}
