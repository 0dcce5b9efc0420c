#include "traffic_frame.h"

#include <algorithm>
#include <cstring>

#include "byte_order.h"
#include "traffic_random.h"

namespace dicap {

namespace {

// Cursor-style stores: write and step past what was written.
inline uint8_t* Put16(uint8_t* p, uint16_t v) {
  StoreBe16(p, v);
  return p + 2;
}

inline uint8_t* Put32(uint8_t* p, uint32_t v) {
  StoreBe32(p, v);
  return p + 4;
}

// Sum of the big-endian 16-bit words of an even-length byte run, unfolded.
inline uint32_t WordSum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  return sum;
}

inline uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Offset of the checksum field inside each transport header.
uint32_t ChecksumOffset(uint8_t proto) {
  switch (proto) {
    case kIpProtoTcp:
      return 16;
    case kIpProtoUdp:
      return 6;
    default:
      return 2;  // ICMP, ICMPv6
  }
}

}  // namespace

FrameWriter::FrameWriter(uint64_t seed) : pool_(kPoolSize), word_prefix_(kPoolSize / 2 + 1) {
  TrafficRandom random(seed ^ 0x7061796C6F6164ull);  // "payload": a stream apart from the model's
  for (uint8_t& byte : pool_) byte = static_cast<uint8_t>(random.Next() >> 56);
  for (uint32_t i = 0; i < kPoolSize / 2; ++i) {
    word_prefix_[i + 1] = word_prefix_[i] + ((uint32_t{pool_[2 * i]} << 8) | pool_[2 * i + 1]);
  }
}

uint32_t FrameWriter::PayloadOffset(uint32_t random, uint32_t len) const {
  return (random % (kPoolSize - len + 1)) & ~1u;
}

uint32_t FrameWriter::PayloadSum(uint32_t offset, uint32_t len) const {
  // offset is even, so the pool's words line up with the datagram's (its transport header
  // length is even too). 32768 words of at most 0xFFFF fit a uint32 without overflow.
  uint32_t sum = word_prefix_[(offset + len) / 2] - word_prefix_[offset / 2];
  if (len & 1) sum += uint32_t{pool_[offset + len - 1]} << 8;
  return sum;
}

void FrameWriter::Seal(const FramePath& path, Datagram& d) const {
  const uint32_t at = ChecksumOffset(d.proto);
  d.transport[at] = d.transport[at + 1] = 0;
  uint64_t sum =
      WordSum(d.transport, d.transport_len) + uint64_t{PayloadSum(d.payload_offset, d.payload_len)};
  if (d.proto != kIpProtoIcmp) {  // every other checksum covers the pseudo-header
    const size_t address_len = path.ipv6 ? 16 : 4;
    sum += WordSum(path.src_ip, address_len) + WordSum(path.dst_ip, address_len);
    sum += d.proto + d.length();
  }
  uint16_t checksum = Fold(sum);
  if (checksum == 0 && d.proto == kIpProtoUdp) checksum = 0xFFFF;  // 0 means "no checksum" in UDP
  Put16(d.transport + at, checksum);
}

void FrameWriter::CopyDatagramBytes(const Datagram& d, uint32_t offset, uint32_t len, uint8_t* out) const {
  if (offset < d.transport_len) {
    const uint32_t n = std::min(len, d.transport_len - offset);
    std::memcpy(out, d.transport + offset, n);
    out += n;
    offset += n;
    len -= n;
  }
  std::memcpy(out, pool_.data() + d.payload_offset + (offset - d.transport_len), len);
}

size_t FrameWriter::Write(const FramePath& path, const Datagram& d, uint32_t offset, uint32_t len,
                          uint8_t* out) const {
  const bool fragment = offset != 0 || len != d.length();
  const bool more_fragments = offset + len < d.length();
  uint8_t* p = out;
  std::memcpy(p, path.dst_mac, 6);
  std::memcpy(p + 6, path.src_mac, 6);
  p += 12;
  if (path.vlan_tags == 2) p = Put16(Put16(p, kEthertypeQinQ), path.outer_tci);
  if (path.vlan_tags >= 1) p = Put16(Put16(p, kEthertypeVlan), path.inner_tci);
  p = Put16(p, path.ipv6 ? kEthertypeIpv6 : kEthertypeIpv4);

  if (!path.ipv6) {
    uint8_t* ip = p;
    ip[0] = 0x45;  // version 4, 20-byte header
    ip[1] = 0;     // DSCP/ECN
    Put16(ip + 2, static_cast<uint16_t>(20 + len));
    Put16(ip + 4, static_cast<uint16_t>(d.ident));
    Put16(ip + 6, static_cast<uint16_t>((d.dont_fragment && !fragment ? 0x4000 : 0) |
                                        (more_fragments ? 0x2000 : 0) | (offset / 8)));
    ip[8] = path.ttl;
    ip[9] = d.proto;
    ip[10] = ip[11] = 0;
    std::memcpy(ip + 12, path.src_ip, 4);
    std::memcpy(ip + 16, path.dst_ip, 4);
    Put16(ip + 10, Fold(WordSum(ip, 20)));
    p += 20;
  } else {
    const uint32_t extension_len = (path.destination_options ? 8 : 0) + (fragment ? 8 : 0);
    p = Put32(p, (6u << 28) | (path.flow_label & 0xFFFFF));  // version, traffic class 0, flow label
    p = Put16(p, static_cast<uint16_t>(extension_len + len));
    *p++ = path.destination_options ? kIpv6DestinationOptions : fragment ? kIpv6Fragment : d.proto;
    *p++ = path.ttl;
    std::memcpy(p, path.src_ip, 16);
    std::memcpy(p + 16, path.dst_ip, 16);
    p += 32;
    if (path.destination_options) {
      // Next header, length 0 (8 bytes), and one PadN option filling the rest.
      const uint8_t options[8] = {fragment ? kIpv6Fragment : d.proto, 0, 1, 4, 0, 0, 0, 0};
      std::memcpy(p, options, 8);
      p += 8;
    }
    if (fragment) {
      *p++ = d.proto;
      *p++ = 0;
      p = Put16(p, static_cast<uint16_t>(offset | (more_fragments ? 1 : 0)));  // offset is a multiple of 8
      p = Put32(p, d.ident);
    }
  }
  CopyDatagramBytes(d, offset, len, p);
  size_t frame_len = static_cast<size_t>(p - out) + len;
  if (frame_len < kGenMinFrameLen) {
    std::memset(out + frame_len, 0, kGenMinFrameLen - frame_len);  // Ethernet padding
    frame_len = kGenMinFrameLen;
  }
  return frame_len;
}

}  // namespace dicap
