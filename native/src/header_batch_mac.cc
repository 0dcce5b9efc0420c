#include "header_batch_mac.h"

#include <openssl/crypto.h>

#include <stdexcept>

namespace dicap {

namespace {

constexpr size_t kAesKeySize = 16;
constexpr size_t kGcmIvSize = 12;
// The nonce is fixed (SPEC §6.5): the second encryption, not the nonce, keeps tags apart.
constexpr uint8_t kFixedIv[kGcmIvSize] = {};

void Check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("header batch MAC: OpenSSL could not ") + what);
}

}  // namespace

HeaderBatchMac::HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key)
    : hash_(EVP_CIPHER_CTX_new()), encrypt_(EVP_CIPHER_CTX_new()) {
  if (!hash_ || !encrypt_)
    throw std::runtime_error("header batch MAC: out of memory for the cipher contexts");
  Check(EVP_EncryptInit_ex(hash_.get(), EVP_aes_128_gcm(), nullptr, key.data(), kFixedIv),
        "set up AES-128-GCM");
  Check(EVP_EncryptInit_ex(encrypt_.get(), EVP_aes_128_ecb(), nullptr, key.data() + kAesKeySize, nullptr),
        "set up AES-128-ECB");
  Check(EVP_CIPHER_CTX_set_padding(encrypt_.get(), 0), "turn off ECB padding");
}

void HeaderBatchMac::Sign(const uint8_t* data, size_t length, uint8_t* mac) {
  uint8_t ghash_tag[kHeaderBatchMacSize];
  int written = 0;
  // Same key, same IV: only the GCM state is reset (no key schedule).
  Check(EVP_EncryptInit_ex(hash_.get(), nullptr, nullptr, nullptr, kFixedIv), "reset AES-128-GCM");
  // A datagram is at most 65507 bytes, so its length fits the int OpenSSL takes.
  Check(EVP_EncryptUpdate(hash_.get(), nullptr, &written, data, static_cast<int>(length)),
        "hash the datagram");
  Check(EVP_EncryptFinal_ex(hash_.get(), ghash_tag, &written), "finish GMAC");
  Check(EVP_CIPHER_CTX_ctrl(hash_.get(), EVP_CTRL_AEAD_GET_TAG, sizeof ghash_tag, ghash_tag),
        "read the GMAC tag");
  Check(EVP_EncryptUpdate(encrypt_.get(), mac, &written, ghash_tag, sizeof ghash_tag), "encrypt the tag");
}

bool HeaderBatchMac::Verify(const uint8_t* data, size_t length, const uint8_t* mac) {
  uint8_t expected[kHeaderBatchMacSize];
  Sign(data, length, expected);
  return CRYPTO_memcmp(expected, mac, kHeaderBatchMacSize) == 0;
}

}  // namespace dicap
