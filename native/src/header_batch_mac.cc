#include "header_batch_mac.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dicap {

namespace {

constexpr size_t kAesKeySize = 16;
constexpr size_t kBlockSize = 16;
// The nonce is fixed (SPEC §6.5): the second encryption, not the nonce, keeps tags apart.
constexpr uint8_t kFixedIv[12] = {};
// GCM's first counter block for a 12-byte IV: IV || 0x00000001.
constexpr uint8_t kJ0[kBlockSize] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr uint8_t kZeroBlock[kBlockSize] = {};

void Check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("header batch MAC: OpenSSL could not ") + what);
}

// GCM's block cipher, answered from the two blocks computed at construction. GCM asks for
// no other block when it only hashes additional data: anything else is a misuse of this
// class, not an input, so it stops the process rather than compute a wrong MAC.
void PrecomputedBlock(const unsigned char in[16], unsigned char out[16], const void* key) {
  const auto* blocks = static_cast<const HeaderBatchMac::FixedIvBlocks*>(key);
  if (std::memcmp(in, kZeroBlock, kBlockSize) == 0) {
    std::memcpy(out, blocks->hash_key, kBlockSize);
  } else if (std::memcmp(in, kJ0, kBlockSize) == 0) {
    std::memcpy(out, blocks->j0, kBlockSize);
  } else {
    std::abort();
  }
}

std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)> EcbContext(const uint8_t* key) {
  std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("header batch MAC: out of memory for a cipher context");
  Check(EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, key, nullptr), "set up AES-128-ECB");
  Check(EVP_CIPHER_CTX_set_padding(ctx.get(), 0), "turn off ECB padding");
  return ctx;
}

void EncryptBlock(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out) {
  int written = 0;
  Check(EVP_EncryptUpdate(ctx, out, &written, in, kBlockSize), "encrypt a block");
}

}  // namespace

HeaderBatchMac::HeaderBatchMac(const std::array<uint8_t, kBatchKeySize>& key) {
  {
    auto hash_cipher = EcbContext(key.data());
    EncryptBlock(hash_cipher.get(), kZeroBlock, blocks_.hash_key);
    EncryptBlock(hash_cipher.get(), kJ0, blocks_.j0);
  }
  gcm_.reset(CRYPTO_gcm128_new(&blocks_, PrecomputedBlock));
  if (!gcm_) throw std::runtime_error("header batch MAC: out of memory for the GCM context");
  encrypt_ = EcbContext(key.data() + kAesKeySize);
}

HeaderBatchMac::~HeaderBatchMac() {
  OPENSSL_cleanse(&blocks_, sizeof blocks_);
}

void HeaderBatchMac::Sign(const uint8_t* data, size_t length, uint8_t* mac) {
  uint8_t ghash_tag[kHeaderBatchMacSize];
  CRYPTO_gcm128_setiv(gcm_.get(), kFixedIv, sizeof kFixedIv);
  // Fails only after message bytes were encrypted, or past 2^61 bytes of AAD: neither here.
  if (CRYPTO_gcm128_aad(gcm_.get(), data, length) != 0) std::abort();
  CRYPTO_gcm128_tag(gcm_.get(), ghash_tag, sizeof ghash_tag);
  EncryptBlock(encrypt_.get(), ghash_tag, mac);
  OPENSSL_cleanse(ghash_tag, sizeof ghash_tag);
}

bool HeaderBatchMac::Verify(const uint8_t* data, size_t length, const uint8_t* mac) {
  uint8_t expected[kHeaderBatchMacSize];
  Sign(data, length, expected);
  return CRYPTO_memcmp(expected, mac, kHeaderBatchMacSize) == 0;
}

}  // namespace dicap
