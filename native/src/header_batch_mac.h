// The MAC of an authenticated header batch (protocol/SPEC.md §6.5): the first 16 bytes of
// HMAC-SHA256(batch key, every byte before the MAC), where the batch key is derived from the
// cluster key (protocol/header-batch.ts, deriveBatchKey). The HMAC's inner and outer hash
// states are computed once per key, so a datagram costs two SHA-256 passes over its bytes
// plus one block, with no allocation.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "header_batch.h"

namespace dicap {

constexpr size_t kBatchKeySize = 32;

class HeaderBatchMac {
 public:
  explicit HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key);

  // Writes the kHeaderBatchMacSize-byte MAC of data[0, length) to `mac`.
  void Sign(const uint8_t* data, size_t length, uint8_t* mac) const;
  // Constant-time comparison of `mac` with the MAC of data[0, length).
  bool Verify(const uint8_t* data, size_t length, const uint8_t* mac) const;

 private:
  SHA256_CTX inner_;  // after the key XOR ipad block
  SHA256_CTX outer_;  // after the key XOR opad block
};

}  // namespace dicap
