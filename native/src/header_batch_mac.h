// The MAC of an authenticated header batch (protocol/SPEC.md §6.5): GHASH of every byte before
// the MAC, under a fixed IV (GMAC), then that tag encrypted with AES-128 under a second key:
// a universal hash made a PRF by one block cipher call, like AES-GCM-SIV's tag. It costs
// under half of HMAC-SHA256 per datagram (bench/reports/lab-selection.md), and unlike plain
// GMAC it needs no unique nonce: an agent that restarts reuses its sequence numbers.
//
// The two AES keys are the halves of the batch key derived from the cluster key
// (protocol/header-batch.ts, deriveBatchKey). The cipher contexts are set up once per key and
// reused, so a HeaderBatchMac is for one thread: each export worker and the sink own one.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "header_batch.h"

namespace dicap {

constexpr size_t kBatchKeySize = 32;

class HeaderBatchMac {
 public:
  // Throws std::runtime_error when OpenSSL cannot set up AES-128-GCM or AES-128-ECB.
  explicit HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key);

  // Writes the kHeaderBatchMacSize-byte MAC of data[0, length) to `mac`.
  void Sign(const uint8_t* data, size_t length, uint8_t* mac);
  // Constant-time comparison of `mac` with the MAC of data[0, length).
  bool Verify(const uint8_t* data, size_t length, const uint8_t* mac);

 private:
  struct CipherContextFree {
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
  };
  using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

  CipherContext hash_;     // AES-128-GCM under the first half of the key, AAD only
  CipherContext encrypt_;  // AES-128-ECB under the second half, one block
};

}  // namespace dicap
