// Byte layout of the traffic generator's frames: Ethernet (optionally 802.1Q or QinQ
// tagged), IPv4 or IPv6 (optionally with a Destination Options header), and a transport
// header plus payload, whole or as one fragment of a larger datagram.
//
// Checksums are valid: the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum over
// the whole datagram (pseudo-header included). Payload bytes come from a fixed pool of
// pseudo-random bytes whose 16-bit word sums are precomputed, so checksumming a datagram
// costs a few dozen additions whatever its size.
//
// The EtherTypes written are 0x0800, 0x86DD, 0x8100 and 0x88A8 only: never 0x88B5, dicap's
// in-band control frames, so generated traffic can never be mistaken for one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dicap {

constexpr size_t kGenMaxFrameLen = 1514;  // Ethernet without FCS, 1500-byte IP MTU untagged
constexpr size_t kGenMinFrameLen = 60;    // 64 on the wire with the FCS; shorter frames are padded
constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86DD;
constexpr uint16_t kEthertypeVlan = 0x8100;  // 802.1Q customer tag
constexpr uint16_t kEthertypeQinQ = 0x88A8;  // 802.1ad service tag (outer)
constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIpProtoIcmpv6 = 58;
constexpr uint8_t kIpv6DestinationOptions = 60;
constexpr uint8_t kIpv6Fragment = 44;
constexpr size_t kMaxTransportHeaderLen = 32;  // TCP with the SYN options we write

// Everything that is the same in every frame one endpoint of a connection sends.
struct FramePath {
  uint8_t dst_mac[6];
  uint8_t src_mac[6];
  uint8_t vlan_tags;   // 0, 1 (802.1Q) or 2 (802.1ad outer + 802.1Q inner)
  uint16_t outer_tci;  // with 2 tags: the service tag
  uint16_t inner_tci;  // with 1 or 2 tags: the customer tag
  bool ipv6;
  bool destination_options;  // IPv6: an 8-byte Destination Options header (PadN) before the transport header
  uint8_t ttl;               // IPv4 TTL or IPv6 hop limit
  uint32_t flow_label;       // IPv6, 20 bits
  uint8_t src_ip[16];        // IPv4 addresses use the first 4 bytes
  uint8_t dst_ip[16];
};

// One IP datagram: a transport header plus payload bytes from the pool.
struct Datagram {
  uint8_t proto;
  uint8_t transport_len;
  uint8_t transport[kMaxTransportHeaderLen];  // checksum field filled in by FrameWriter::Seal
  uint32_t payload_offset;                    // into the payload pool; even
  uint32_t payload_len;
  uint32_t ident;      // IPv4 Identification (low 16 bits), or the IPv6 Fragment header's Identification
  bool dont_fragment;  // IPv4 DF; must be false for a datagram sent as fragments

  uint32_t length() const { return transport_len + payload_len; }
};

class FrameWriter {
 public:
  // The payload pool's bytes depend on `seed` only.
  explicit FrameWriter(uint64_t seed);

  // Largest payload a datagram may take from the pool.
  static constexpr uint32_t kMaxPayload = 16384;
  // An even pool offset at which `len` payload bytes fit, from a random 32-bit value.
  uint32_t PayloadOffset(uint32_t random, uint32_t len) const;

  // Ethernet + VLAN header bytes, and IP header bytes (extension headers included) of `path`.
  static uint32_t LinkHeaderLen(const FramePath& path) { return 14 + 4u * path.vlan_tags; }
  static uint32_t IpHeaderLen(const FramePath& path) {
    return path.ipv6 ? 40u + (path.destination_options ? 8u : 0u) : 20u;
  }
  // Most datagram bytes (transport header + payload) one unfragmented frame on `path` carries.
  static uint32_t Capacity(const FramePath& path) {
    return kGenMaxFrameLen - LinkHeaderLen(path) - IpHeaderLen(path);
  }
  // Datagram bytes per fragment (a multiple of 8; IPv6 loses 8 to the Fragment header).
  // A Destination Options header stays in every fragment, ahead of the Fragment header
  // (the unfragmentable part, RFC 8200 §4.5).
  static uint32_t FragmentCapacity(const FramePath& path) {
    return (Capacity(path) - (path.ipv6 ? 8u : 0u)) & ~7u;
  }
  static uint32_t FragmentCount(const FramePath& path, uint32_t datagram_len) {
    if (datagram_len <= Capacity(path)) return 1;
    const uint32_t per = FragmentCapacity(path);
    return (datagram_len + per - 1) / per;
  }

  // Computes the transport checksum of `d` sent on `path` into d.transport.
  void Seal(const FramePath& path, Datagram& d) const;
  // Writes the frame carrying bytes [offset, offset + len) of the datagram into `out`
  // (kGenMaxFrameLen bytes of room) and returns the frame length (at least kGenMinFrameLen).
  // The whole datagram (offset 0, len = d.length()) gives an unfragmented frame.
  size_t Write(const FramePath& path, const Datagram& d, uint32_t offset, uint32_t len, uint8_t* out) const;

 private:
  uint32_t PayloadSum(uint32_t offset, uint32_t len) const;
  // Copies datagram bytes [offset, offset + len) to `out`.
  void CopyDatagramBytes(const Datagram& d, uint32_t offset, uint32_t len, uint8_t* out) const;

  static constexpr uint32_t kPoolSize = 65536;
  std::vector<uint8_t> pool_;
  std::vector<uint32_t> word_prefix_;  // word_prefix_[i] = sum of the first i big-endian 16-bit words
};

}  // namespace dicap
