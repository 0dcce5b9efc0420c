// The synthetic traffic of `dicap gen`: a fixed number of concurrent connections, each
// replaced by a fresh one when it ends, and every frame taken from one of them at random,
// so conversations interleave as on a busy link. Deterministic: the same options give the
// same frame sequence, byte for byte.
//
// What a connection looks like (both directions, as a mirror port sees them):
//   TCP        handshake (SYN, SYN-ACK, ACK), 1–6 request/response rounds (responses in
//              MSS-sized segments, a client ACK every second segment), FIN/FIN/ACK or a RST
//   UDP query  1–4 small-request/response rounds; some responses are larger than the MTU
//              and go out as IP fragments, all of a datagram back to back
//   UDP stream a media-like stream from one side with occasional feedback from the other
//   ICMP echo  1–8 echo request/reply pairs (ICMPv6 over IPv6)
// Connections start at a random point of their life when the run starts, as in a capture
// begun on a live link. Mix: see the kShare* constants in traffic_model.cc.
//
// Addresses: IPv4 only from 198.18.0.0/15 (clients 198.18/16, servers 198.19/16), IPv6 only
// from 2001:db8::/32; MACs are locally administered unicast (02:…), derived from the IP.
// Every IPv4 sender has one IP-ID behaviour for the connection's life, drawn from IpIdMix:
//   counter  per-connection counter from a random start, +1 per datagram (DF on TCP)
//   random   a random ID per datagram (DF on TCP)
//   zero-df  ID 0 with DF set; a datagram too large for the MTU cannot carry DF, so it
//            goes out as fragments with an ID from the sender's counter, as Linux does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "traffic_frame.h"
#include "traffic_random.h"

namespace dicap {

// Relative weights of the IPv4 IP-ID behaviours, drawn per sending endpoint of a
// connection (each direction on its own). At least one must be non-zero.
struct IpIdMix {
  uint32_t counter = 60;
  uint32_t random = 20;
  uint32_t zero_df = 20;
};

struct TrafficModelOptions {
  uint64_t seed = 1;
  uint32_t flows = 1000;  // concurrent connections, >= 1
  IpIdMix ipid;
};

struct Connection;

class TrafficModel {
 public:
  explicit TrafficModel(const TrafficModelOptions& options);
  ~TrafficModel();
  TrafficModel(const TrafficModel&) = delete;
  TrafficModel& operator=(const TrafficModel&) = delete;

  // Writes the next frame into `out` (room for kGenMaxFrameLen bytes) and returns its
  // length (kGenMinFrameLen..kGenMaxFrameLen). `frames_left` (>= 1) is how many more
  // frames the caller will take: a datagram is fragmented only when all its fragments
  // fit in it, so a run of N frames never ends inside a datagram.
  size_t Next(uint8_t* out, uint64_t frames_left);

 private:
  void Open(Connection& c);
  // Fills `d` with the connection's next datagram and returns the sending side (0 client,
  // 1 server); marks the connection done after its last datagram. `max_fragments` bounds
  // how many frames the datagram may take.
  int Step(Connection& c, Datagram& d, uint32_t max_fragments);
  int StepTcp(Connection& c, Datagram& d);
  int StepUdpQuery(Connection& c, Datagram& d, uint32_t max_fragments);
  int StepUdpStream(Connection& c, Datagram& d);
  int StepIcmpEcho(Connection& c, Datagram& d);
  // Sets the IP-level identity (IPv4 ID and DF, IPv6 fragment ID) of a datagram that
  // side `side` of `c` sends, now that its size is known.
  void Identify(Connection& c, int side, Datagram& d);
  void SetPayload(Datagram& d, uint32_t len);
  // A UDP datagram of `payload` bytes from side `side` of `c` to the other side.
  void SetUdp(const Connection& c, int side, Datagram& d, uint32_t payload);

  const TrafficModelOptions options_;
  TrafficRandom random_;
  FrameWriter writer_;
  std::vector<Connection> connections_;

  // The rest of a datagram being sent as fragments, back to back.
  Datagram pending_{};
  const FramePath* pending_path_ = nullptr;
  uint32_t pending_offset_ = 0;
};

}  // namespace dicap
