// libFuzzer target: the native control decoder, DecodeInbandTopology (control_message.h).
// Input: one mode byte, then the message. Mode bit 0 set: the message is signed first
// (sign_control_message.h), so the rules behind the MAC are reached; clear: the bytes go
// in as they are, so the header, length and MAC checks are fuzzed on raw bytes.
// Beyond "no crash, no sanitizer report": a message the decoder accepts must satisfy
// TOPOLOGY_UPDATE's body rules (SPEC §6.4), checked here independently.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "control_message.h"
#include "sign_control_message.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports it as a crash, with the input
}

void CheckAccepted(const dicap::TopologyUpdate& update) {
  Require(!update.node_ids.empty());
  std::vector<uint32_t> ids = update.node_ids;
  std::sort(ids.begin(), ids.end());
  Require(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  Require(update.selection_type >= dicap::kSelectionRoundRobin &&
          update.selection_type <= dicap::kSelectionFlow);
  Require(update.snaplen >= 1 && update.snaplen <= 0xFFFF);
  Require(update.validity_start_ms % 1000 <= 999);
  for (const auto& analyzer : update.analyzers) Require(analyzer.second != 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> message(data + 1, data + size);
  if (data[0] & 1) dicap::fuzz::SignControlMessage(&message);
  const std::vector<uint8_t>& key = dicap::fuzz::FuzzClusterKey();
  dicap::TopologyUpdate update;
  const dicap::ControlError error =
      dicap::DecodeInbandTopology(message.data(), message.size(), key.data(), key.size(), &update);
  Require(std::strlen(dicap::ControlErrorCode(error)) > 0 &&
          std::strlen(dicap::ControlErrorReason(error)) > 0);
  if (error == dicap::ControlError::kNone) CheckAccepted(update);
  return 0;
}
