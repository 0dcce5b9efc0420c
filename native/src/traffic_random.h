// The traffic generator's only source of randomness: xoshiro256** seeded through
// splitmix64. Everything `dicap gen` puts in a frame comes from one of these, so a seed
// fixes the whole frame sequence on every machine (no std:: distributions, whose output
// differs between standard libraries).
#pragma once

#include <cstdint>

namespace dicap {

class TrafficRandom {
 public:
  explicit TrafficRandom(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix(seed);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n) for n >= 1 (Lemire's multiply-shift; the bias is below 2^-32 for
  // the small ranges used here, irrelevant for synthetic traffic).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(((Next() >> 32) * n) >> 32); }
  // Uniform in [lo, hi].
  uint32_t Between(uint32_t lo, uint32_t hi) { return lo + Below(hi - lo + 1); }
  // True with probability percent / 100.
  bool Percent(uint32_t percent) { return Below(100) < percent; }
  uint16_t U16() { return static_cast<uint16_t>(Next() >> 48); }
  uint32_t U32() { return static_cast<uint32_t>(Next() >> 32); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
};

}  // namespace dicap
