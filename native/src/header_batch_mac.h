// The MAC of an authenticated header batch (protocol/SPEC.md §6.5): GHASH of every byte before
// the MAC, under a fixed IV (GMAC), then that tag encrypted with AES-128 under a second key:
// a universal hash made a PRF by one block cipher call, like AES-GCM-SIV's tag. Unlike plain
// GMAC it needs no unique nonce: an agent that restarts reuses its sequence numbers.
//
// Cost per 1456-byte datagram on a CPU with AES-NI and PCLMULQDQ (AMD EPYC): 0.22 µs, against
// 0.34 µs through EVP's AES-128-GCM (its per-call re-initialisation and parameter lookups) and
// 0.88 µs for HMAC-SHA256 with SHA-NI, the MAC before it.
//
// The two AES keys are the halves of the batch key derived from the cluster key
// (protocol/header-batch.ts, deriveBatchKey). The contexts are set up once per key and reused,
// so a HeaderBatchMac is for one thread: each export worker and the sink own one.
#pragma once

#include <openssl/evp.h>
#include <openssl/modes.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "header_batch.h"

namespace dicap {

constexpr size_t kBatchKeySize = 32;

class HeaderBatchMac {
 public:
  // Throws std::runtime_error when OpenSSL cannot set up AES-128-ECB or GCM.
  explicit HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key);
  ~HeaderBatchMac();
  HeaderBatchMac(const HeaderBatchMac&) = delete;
  HeaderBatchMac& operator=(const HeaderBatchMac&) = delete;

  // Writes the kHeaderBatchMacSize-byte MAC of data[0, length) to `mac`.
  void Sign(const uint8_t* data, size_t length, uint8_t* mac);
  // Constant-time comparison of `mac` with the MAC of data[0, length).
  bool Verify(const uint8_t* data, size_t length, const uint8_t* mac);

  // The only two blocks GCM encrypts for a tag over additional data alone with the fixed IV:
  // the hash key H = E(0^128), once, and E(J0) with J0 = IV || 1, per message. Both are
  // computed once with EVP (AES-NI, constant time), so GHASH runs without EVP's per-call cost.
  struct FixedIvBlocks {
    uint8_t hash_key[16];  // E_KH(0^128)
    uint8_t j0[16];        // E_KH(IV || 0x00000001)
  };

 private:
  FixedIvBlocks blocks_;  // read through gcm_'s block function: the object never moves
  std::unique_ptr<GCM128_CONTEXT, void (*)(GCM128_CONTEXT*)> gcm_{nullptr, CRYPTO_gcm128_release};
  // AES-128-ECB under K_T, one block per MAC.
  std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)> encrypt_{nullptr, EVP_CIPHER_CTX_free};
};

}  // namespace dicap
