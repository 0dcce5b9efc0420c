#include "traffic_model.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "byte_order.h"

namespace dicap {

namespace {

// Shares of new connections, in percent (TCP takes the rest of kShare*).
constexpr uint32_t kShareUdpQuery = 22;
constexpr uint32_t kShareUdpStream = 8;
constexpr uint32_t kShareIcmpEcho = 8;
constexpr uint32_t kShareIpv6 = 35;
constexpr uint32_t kShareIpv6DestinationOptions = 25;  // of IPv6 connections
constexpr uint32_t kShareVlan = 20;                    // one 802.1Q tag
constexpr uint32_t kShareQinQ = 8;                     // 802.1ad + 802.1Q
constexpr uint32_t kShareTcpReset = 10;                // TCP connections that end with a RST
constexpr uint32_t kShareLargeUdpResponse = 15;        // UDP query responses larger than the MTU
constexpr uint32_t kServers = 1024;                    // per address family; clients are many more
constexpr uint32_t kWarmUpSteps = 24;                  // a connection starts up to this far into its life

enum class Kind : uint8_t { kTcp, kUdpQuery, kUdpStream, kIcmpEcho };
enum class IpId : uint8_t { kCounter, kRandom, kZeroDf };
enum class TcpPhase : uint8_t {
  kSyn,
  kSynAck,
  kHandshakeAck,
  kRequest,
  kResponse,
  kFin,
  kFinAck,
  kLastAck,
  kReset
};

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;

// 02:… (locally administered, unicast), the rest a mix of the IP address.
void MacFromIp(const uint8_t* ip, size_t len, uint8_t* mac) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (size_t i = 0; i < len; ++i) h = (h ^ ip[i]) * 0x100000001B3ull;
  mac[0] = 0x02;
  for (int i = 1; i < 6; ++i) mac[i] = static_cast<uint8_t>(h >> (8 * i));
}

}  // namespace

// One direction of a connection: the path its frames take and its sender's stack state.
struct Sender {
  FramePath path;
  IpId ipid;
  uint16_t next_ipid;
  uint32_t next_fragment_ident;  // IPv6
  uint32_t seq;                  // TCP: next sequence number
  uint16_t port;
  uint16_t window;
};

struct Connection {
  Kind kind;
  bool done;
  Sender side[2];  // [0] client → server, [1] server → client
  uint16_t mss;    // TCP payload per segment, the same both ways (the smaller MTU of the path)
  TcpPhase phase;
  bool reset_at_end;
  uint8_t turn;          // UDP/ICMP: which side sends next; UDP stream: the media side
  uint32_t rounds_left;  // request/response rounds, echo pairs or stream datagrams to go
  uint32_t bytes_left;   // TCP: bytes of the current request or response not yet sent
  uint32_t unacked;      // TCP: response segments since the client's last ACK
  uint32_t size;         // UDP stream: typical media datagram; ICMP: echo payload length
  uint32_t echo_offset;  // ICMP: pool offset of the request's payload, which the reply echoes
  uint16_t icmp_id, icmp_seq;
};

TrafficModel::TrafficModel(const TrafficModelOptions& options)
    : options_(options), random_(options.seed), writer_(options.seed), connections_(options.flows) {
  if (options.flows == 0) throw std::invalid_argument("flows must be at least 1");
  if (options.ipid.counter + options.ipid.random + options.ipid.zero_df == 0) {
    throw std::invalid_argument("the IP-ID mix needs at least one non-zero share");
  }
  // Start as a capture on a busy link would: connections in every stage of their life.
  Datagram scratch;
  for (Connection& c : connections_) {
    Open(c);
    for (uint32_t steps = random_.Below(kWarmUpSteps); steps > 0 && !c.done; --steps)
      Step(c, scratch, UINT32_MAX);
    if (c.done) Open(c);
  }
}

TrafficModel::~TrafficModel() = default;

size_t TrafficModel::Next(uint8_t* out, uint64_t frames_left) {
  if (pending_path_ != nullptr) {
    const uint32_t len =
        std::min(FrameWriter::FragmentCapacity(*pending_path_), pending_.length() - pending_offset_);
    const size_t frame_len = writer_.Write(*pending_path_, pending_, pending_offset_, len, out);
    pending_offset_ += len;
    if (pending_offset_ == pending_.length()) pending_path_ = nullptr;
    return frame_len;
  }
  Connection& c = connections_[random_.Below(options_.flows)];
  if (c.done) Open(c);
  Datagram d;
  const int side = Step(c, d, static_cast<uint32_t>(std::min<uint64_t>(frames_left, UINT32_MAX)));
  const FramePath& path = c.side[side].path;
  writer_.Seal(path, d);
  if (d.length() <= FrameWriter::Capacity(path)) return writer_.Write(path, d, 0, d.length(), out);
  pending_ = d;
  pending_path_ = &path;
  pending_offset_ = FrameWriter::FragmentCapacity(path);
  return writer_.Write(path, d, 0, pending_offset_, out);
}

void TrafficModel::Open(Connection& c) {
  TrafficRandom& r = random_;
  c = Connection{};
  const uint32_t kind = r.Below(100);
  c.kind = kind < kShareUdpQuery                                      ? Kind::kUdpQuery
           : kind < kShareUdpQuery + kShareUdpStream                  ? Kind::kUdpStream
           : kind < kShareUdpQuery + kShareUdpStream + kShareIcmpEcho ? Kind::kIcmpEcho
                                                                      : Kind::kTcp;

  // The client → server path; the server → client one mirrors it.
  FramePath& to_server = c.side[0].path;
  to_server.ipv6 = r.Percent(kShareIpv6);
  to_server.destination_options = to_server.ipv6 && r.Percent(kShareIpv6DestinationOptions);
  const uint32_t tags = r.Below(100);
  to_server.vlan_tags = tags < kShareQinQ ? 2 : tags < kShareQinQ + kShareVlan ? 1 : 0;
  to_server.inner_tci = static_cast<uint16_t>(100 + r.Below(32));  // a few dozen VLANs
  to_server.outer_tci = static_cast<uint16_t>(1000 + r.Below(4));  // a few service VLANs
  const uint32_t server = r.Below(kServers);
  if (!to_server.ipv6) {
    const uint8_t client_ip[4] = {198, 18, static_cast<uint8_t>(r.Below(256)),
                                  static_cast<uint8_t>(r.Between(1, 254))};
    const uint8_t server_ip[4] = {198, 19, static_cast<uint8_t>(server / 254),
                                  static_cast<uint8_t>(1 + server % 254)};
    std::memcpy(to_server.src_ip, client_ip, 4);
    std::memcpy(to_server.dst_ip, server_ip, 4);
  } else {
    // Clients 2001:db8:c000::/40 with random low bits, servers 2001:db8:5e::N.
    const uint8_t client_prefix[5] = {0x20, 0x01, 0x0d, 0xb8, 0xc0};
    std::memcpy(to_server.src_ip, client_prefix, 5);
    for (int i = 5; i < 16; ++i) to_server.src_ip[i] = static_cast<uint8_t>(r.Below(256));
    const uint8_t server_prefix[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e};
    std::memset(to_server.dst_ip, 0, 16);
    std::memcpy(to_server.dst_ip, server_prefix, 6);
    StoreBe16(to_server.dst_ip + 14, static_cast<uint16_t>(server + 1));
  }
  const size_t address_len = to_server.ipv6 ? 16 : 4;
  MacFromIp(to_server.src_ip, address_len, to_server.src_mac);
  MacFromIp(to_server.dst_ip, address_len, to_server.dst_mac);
  FramePath& to_client = c.side[1].path;
  to_client = to_server;
  std::memcpy(to_client.src_mac, to_server.dst_mac, 6);
  std::memcpy(to_client.dst_mac, to_server.src_mac, 6);
  std::memcpy(to_client.src_ip, to_server.dst_ip, 16);
  std::memcpy(to_client.dst_ip, to_server.src_ip, 16);

  const IpIdMix& mix = options_.ipid;
  for (Sender& s : c.side) {
    static constexpr uint8_t kInitialTtls[3] = {64, 128, 255};
    const uint8_t initial_ttl = kInitialTtls[r.Below(3)];
    s.path.ttl = static_cast<uint8_t>(initial_ttl - r.Below(20));  // minus the hops travelled
    s.path.flow_label = r.U32() & 0xFFFFF;
    const uint32_t pick = r.Below(mix.counter + mix.random + mix.zero_df);
    s.ipid = pick < mix.counter                ? IpId::kCounter
             : pick < mix.counter + mix.random ? IpId::kRandom
                                               : IpId::kZeroDf;
    s.next_ipid = r.U16();
    s.next_fragment_ident = r.U32();
    s.seq = r.U32();
    s.window = static_cast<uint16_t>(r.Between(500, 65535));
  }
  c.mss = static_cast<uint16_t>(FrameWriter::Capacity(to_server) - 20);

  switch (c.kind) {
    case Kind::kTcp: {
      static constexpr uint16_t kPorts[] = {443, 443, 443, 443, 993, 5432, 8443, 3306};
      c.side[1].port = kPorts[r.Below(sizeof kPorts / sizeof kPorts[0])];
      c.phase = TcpPhase::kSyn;
      // The smaller of two draws: mostly one or two rounds. (Two statements, because the
      // order in which function arguments are evaluated is unspecified.)
      const uint32_t draw = r.Below(8);
      c.rounds_left = 1 + std::min(draw, r.Below(8)) % 6;
      c.reset_at_end = r.Percent(kShareTcpReset);
      break;
    }
    case Kind::kUdpQuery:
      c.side[1].port = static_cast<uint16_t>(r.Percent(50) ? 27015 : 9000 + r.Below(8));
      c.rounds_left = r.Between(1, 4);
      c.turn = 0;
      break;
    case Kind::kUdpStream:
      c.side[1].port = static_cast<uint16_t>(16384 + 2 * r.Below(4096));  // RTP-like even ports
      c.rounds_left = r.Between(20, 300);
      c.turn = static_cast<uint8_t>(r.Below(2));
      c.size = r.Between(160, 1200);
      break;
    case Kind::kIcmpEcho:
      c.rounds_left = 2 * r.Between(1, 8);
      c.turn = 0;
      c.icmp_id = r.U16();
      c.icmp_seq = static_cast<uint16_t>(r.Below(4));
      c.size = r.Percent(85) ? 56 : r.Below(1400);
      break;
  }
  c.side[0].port = static_cast<uint16_t>(r.Between(32768, 60999));  // Linux's ephemeral range
}

int TrafficModel::Step(Connection& c, Datagram& d, uint32_t max_fragments) {
  d = Datagram{};
  int side = 0;
  switch (c.kind) {
    case Kind::kTcp:
      side = StepTcp(c, d);
      break;
    case Kind::kUdpQuery:
      side = StepUdpQuery(c, d, max_fragments);
      break;
    case Kind::kUdpStream:
      side = StepUdpStream(c, d);
      break;
    case Kind::kIcmpEcho:
      side = StepIcmpEcho(c, d);
      break;
  }
  Identify(c, side, d);
  return side;
}

void TrafficModel::SetPayload(Datagram& d, uint32_t len) {
  d.payload_len = len;
  d.payload_offset = writer_.PayloadOffset(random_.U32(), len);
}

int TrafficModel::StepTcp(Connection& c, Datagram& d) {
  int side = 0;
  uint8_t flags = kTcpAck;
  uint32_t payload = 0;
  bool syn_options = false;
  switch (c.phase) {
    case TcpPhase::kSyn:
      flags = kTcpSyn;
      syn_options = true;
      c.phase = TcpPhase::kSynAck;
      break;
    case TcpPhase::kSynAck:
      side = 1;
      flags = kTcpSyn | kTcpAck;
      syn_options = true;
      c.phase = TcpPhase::kHandshakeAck;
      break;
    case TcpPhase::kHandshakeAck:
      c.phase = TcpPhase::kRequest;
      c.bytes_left = random_.Between(40, 1200);
      break;
    case TcpPhase::kRequest:
      payload = std::min<uint32_t>(c.bytes_left, c.mss);
      c.bytes_left -= payload;
      if (c.bytes_left == 0) {
        flags |= kTcpPsh;
        c.phase = TcpPhase::kResponse;
        // Most responses fit a few segments; some are transfers of tens of kilobytes.
        const uint32_t kind = random_.Below(100);
        c.bytes_left = kind < 70   ? random_.Between(1, 1400)
                       : kind < 95 ? random_.Between(1401, 16000)
                                   : random_.Between(16001, 64000);
        c.unacked = 0;
      }
      break;
    case TcpPhase::kResponse:
      if (c.unacked >= 2 || (c.bytes_left == 0 && c.unacked > 0)) {
        c.unacked = 0;  // the client's (delayed) ACK
      } else {
        side = 1;
        payload = std::min<uint32_t>(c.bytes_left, c.mss);
        c.bytes_left -= payload;
        ++c.unacked;
        if (c.bytes_left == 0) flags |= kTcpPsh;
      }
      if (c.bytes_left == 0 && c.unacked == 0) {
        if (--c.rounds_left > 0) {
          c.phase = TcpPhase::kRequest;
          c.bytes_left = random_.Between(40, 1200);
        } else {
          c.phase = c.reset_at_end ? TcpPhase::kReset : TcpPhase::kFin;
        }
      }
      break;
    case TcpPhase::kFin:
      flags = kTcpFin | kTcpAck;
      c.phase = TcpPhase::kFinAck;
      break;
    case TcpPhase::kFinAck:
      side = 1;
      flags = kTcpFin | kTcpAck;
      c.phase = TcpPhase::kLastAck;
      break;
    case TcpPhase::kLastAck:
      c.done = true;
      break;
    case TcpPhase::kReset:
      side = static_cast<int>(random_.Below(2));
      flags = kTcpRst | kTcpAck;
      c.done = true;
      break;
  }
  Sender& s = c.side[side];
  const Sender& peer = c.side[1 - side];
  d.proto = kIpProtoTcp;
  d.transport_len = syn_options ? 32 : 20;
  uint8_t* t = d.transport;
  StoreBe16(t, s.port);
  StoreBe16(t + 2, peer.port);
  StoreBe32(t + 4, s.seq);
  StoreBe32(t + 8, (flags & kTcpAck) ? peer.seq : 0);
  t[12] = static_cast<uint8_t>((d.transport_len / 4) << 4);
  t[13] = flags;
  StoreBe16(t + 14, s.window);
  StoreBe16(t + 18, 0);  // urgent pointer
  if (syn_options) {
    // MSS, NOP + window scale 7, NOP NOP + SACK permitted: 12 bytes.
    const uint8_t options[12] = {
        2, 4, static_cast<uint8_t>(c.mss >> 8), static_cast<uint8_t>(c.mss), 1, 3, 3, 7, 1, 1, 4, 2};
    std::memcpy(t + 20, options, sizeof options);
  }
  SetPayload(d, payload);
  s.seq += payload + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
  return side;
}

void TrafficModel::SetUdp(const Connection& c, int side, Datagram& d, uint32_t payload) {
  d.proto = kIpProtoUdp;
  d.transport_len = 8;
  StoreBe16(d.transport, c.side[side].port);
  StoreBe16(d.transport + 2, c.side[1 - side].port);
  StoreBe16(d.transport + 4, static_cast<uint16_t>(8 + payload));
  SetPayload(d, payload);
}

int TrafficModel::StepUdpQuery(Connection& c, Datagram& d, uint32_t max_fragments) {
  const int side = c.turn;
  const FramePath& path = c.side[side].path;
  uint32_t payload;
  if (side == 0) {
    payload = random_.Between(20, 300);
  } else {
    const uint32_t fits = FrameWriter::Capacity(path) - 8;
    payload =
        random_.Percent(kShareLargeUdpResponse) ? random_.Between(fits + 1, 8000) : random_.Between(40, fits);
    if (FrameWriter::FragmentCount(path, payload + 8) > max_fragments) payload = random_.Between(40, fits);
    if (--c.rounds_left == 0) c.done = true;
  }
  c.turn = static_cast<uint8_t>(1 - side);
  SetUdp(c, side, d, payload);
  return side;
}

int TrafficModel::StepUdpStream(Connection& c, Datagram& d) {
  // Every eighth datagram is feedback from the receiving side (RTCP-like), small.
  const bool feedback = random_.Below(8) == 0;
  const int side = feedback ? 1 - c.turn : c.turn;
  const uint32_t payload =
      feedback ? random_.Between(20, 120)
               : std::min(c.size + random_.Below(64), FrameWriter::Capacity(c.side[side].path) - 8);
  if (--c.rounds_left == 0) c.done = true;
  SetUdp(c, side, d, payload);
  return side;
}

int TrafficModel::StepIcmpEcho(Connection& c, Datagram& d) {
  const int side = c.turn;
  const bool ipv6 = c.side[0].path.ipv6;
  d.proto = ipv6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
  d.transport_len = 8;
  d.transport[0] = side == 0 ? (ipv6 ? 128 : 8) : (ipv6 ? 129 : 0);  // echo request / reply
  d.transport[1] = 0;
  StoreBe16(d.transport + 4, c.icmp_id);
  StoreBe16(d.transport + 6, c.icmp_seq);
  if (side == 0) {
    SetPayload(d, std::min(c.size, FrameWriter::Capacity(c.side[0].path) - 8));
    c.size = d.payload_len;
    c.echo_offset = d.payload_offset;
  } else {
    d.payload_len = c.size;
    d.payload_offset = c.echo_offset;
    ++c.icmp_seq;
  }
  c.turn = static_cast<uint8_t>(1 - side);
  if (--c.rounds_left == 0) c.done = true;
  return side;
}

void TrafficModel::Identify(Connection& c, int side, Datagram& d) {
  Sender& s = c.side[side];
  const bool fragmented = d.length() > FrameWriter::Capacity(s.path);
  if (s.path.ipv6) {
    if (fragmented) d.ident = s.next_fragment_ident++;
    return;
  }
  const bool path_mtu_discovery = d.proto == kIpProtoTcp;
  switch (s.ipid) {
    case IpId::kCounter:
      d.ident = s.next_ipid++;
      d.dont_fragment = path_mtu_discovery && !fragmented;
      break;
    case IpId::kRandom:
      d.ident = random_.U16();
      d.dont_fragment = path_mtu_discovery && !fragmented;
      break;
    case IpId::kZeroDf:
      d.ident = fragmented ? s.next_ipid++ : 0;
      d.dont_fragment = !fragmented;
      break;
  }
}

}  // namespace dicap
