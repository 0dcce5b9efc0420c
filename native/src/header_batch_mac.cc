// OpenSSL 3 deprecates the SHA256_* calls in favour of EVP, whose per-call provider lookup
// and context allocation cost more than the hash of a small datagram; Node's bundled OpenSSL
// still exports them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "header_batch_mac.h"

#include <openssl/crypto.h>

namespace dicap {

HeaderBatchMac::HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key) {
  // HMAC (RFC 2104) with a key shorter than SHA-256's 64-byte block: pad it with zeros.
  uint8_t pad[SHA256_CBLOCK] = {};
  for (size_t i = 0; i < kBatchKeySize; ++i) pad[i] = key[i];
  uint8_t ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) {
    ipad[i] = pad[i] ^ 0x36;
    opad[i] = pad[i] ^ 0x5c;
  }
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, ipad, sizeof ipad);
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, opad, sizeof opad);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

void HeaderBatchMac::Sign(const uint8_t* data, size_t length, uint8_t* mac) const {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx = inner_;
  SHA256_Update(&ctx, data, length);
  SHA256_Final(digest, &ctx);
  ctx = outer_;
  SHA256_Update(&ctx, digest, sizeof digest);
  SHA256_Final(digest, &ctx);
  for (size_t i = 0; i < kHeaderBatchMacSize; ++i) mac[i] = digest[i];
}

bool HeaderBatchMac::Verify(const uint8_t* data, size_t length, const uint8_t* mac) const {
  uint8_t expected[kHeaderBatchMacSize];
  Sign(data, length, expected);
  return CRYPTO_memcmp(expected, mac, kHeaderBatchMacSize) == 0;
}

}  // namespace dicap
