// Turns fuzzer bytes into a control message that passes the MAC check, so the decoders'
// rules behind the MAC (trailer, body, values) get fuzzed too: random bytes almost never
// carry a valid HMAC-SHA256. Shared by the control-message and in-band-frame targets.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "control_message.h"

namespace dicap::fuzz {

// The cluster key of protocol/SPEC.md §5, under which the spec's TOPOLOGY_UPDATE (a seed)
// verifies.
inline const std::vector<uint8_t>& FuzzClusterKey() {
  static const std::vector<uint8_t> key = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return key;
}

// Cuts `message` to whole AVPs (at most kControlMaxAvps), writes their count into LEN and,
// when there are at least eight, makes the last eight HMAC_0..HMAC_7 carrying the MAC of
// everything before them under FuzzClusterKey(). Magic, version, type and the body are
// left as the fuzzer made them.
inline void SignControlMessage(std::vector<uint8_t>* message) {
  if (message->size() < kControlHeaderLen) return;
  size_t count = (message->size() - kControlHeaderLen) / kControlAvpLen;
  if (count > kControlMaxAvps) count = kControlMaxAvps;
  message->resize(kControlHeaderLen + count * kControlAvpLen);
  (*message)[4] = static_cast<uint8_t>(count >> 8);
  (*message)[5] = static_cast<uint8_t>(count);
  if (count < kControlHmacAvps) return;
  uint8_t* mac_avps = message->data() + kControlHeaderLen + (count - kControlHmacAvps) * kControlAvpLen;
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const std::vector<uint8_t>& key = FuzzClusterKey();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message->data(),
       static_cast<size_t>(mac_avps - message->data()), mac, &mac_len);
  for (size_t i = 0; i < kControlHmacAvps; ++i) {
    mac_avps[i * kControlAvpLen] = static_cast<uint8_t>(kAvpHmac0 + i);
    for (size_t b = 0; b < 4; ++b) mac_avps[i * kControlAvpLen + 1 + b] = mac[4 * i + b];
  }
}

}  // namespace dicap::fuzz
