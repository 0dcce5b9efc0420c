// `dicap gen`'s engine: one thread takes frames from the TrafficModel and either sends them
// through a PacketSender at a paced (or the highest) rate, or appends them to a nanosecond
// pcap file with time stamps spaced by the rate. It stops by itself after `count` frames
// or `duration`, and whenever Stop() is called.
//
// Pure C++: no napi here. gen_bindings.cc wraps it for JavaScript; events reach JS through
// the EventSink callback, called from the generator's thread once or twice per run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "counter.h"
#include "traffic_model.h"
#include "traffic_sender.h"

namespace dicap {

struct TrafficGeneratorOptions {
  TrafficModelOptions model;
  // Exactly one output: an interface to send through, or a pcap file to write.
  std::string interface;
  bool qdisc_bypass = true;  // see traffic_sender.h
  std::string write_path;
  uint64_t rate = 0;         // frames per second; 0 = as fast as possible
  uint64_t count = 0;        // frames; 0 = no limit
  uint64_t duration_ns = 0;  // 0 = no limit; with a file and a rate: the span of the time stamps
};

struct TrafficGeneratorEvent {
  enum class Kind { kEnd, kError } kind;
  std::string message;  // kError: one line
};

struct TrafficGeneratorCounters {
  uint64_t frames;         // sent (accepted by the interface) or written to the file
  uint64_t bytes;          // of those frames, Ethernet header to payload, no FCS
  uint64_t send_refusals;  // send attempts refused for a full queue (ENOBUFS, ...), each retried
  uint64_t frames_failed;  // frames given up after PacketSender::kMaxAttempts refusals
  int last_errno;          // of the last refusal, 0 if none (or unknown)
  uint64_t elapsed_ns;     // since Start(), frozen when the run ends
  uint64_t cpu_ns;         // CPU time of the generator thread (user + system, incl. the receive
                           //   processing a veth peer does in the sender's softirq)
  bool running;
};

class TrafficGenerator {
 public:
  using EventSink = std::function<void(TrafficGeneratorEvent)>;

  // Throws std::invalid_argument for options the TypeScript layer should have refused.
  TrafficGenerator(const TrafficGeneratorOptions& options, EventSink events);
  ~TrafficGenerator();
  TrafficGenerator(const TrafficGenerator&) = delete;
  TrafficGenerator& operator=(const TrafficGenerator&) = delete;

  // Opens the output and starts the thread. Throws std::runtime_error with a one-line
  // message (interface missing, permission, file not writable); nothing runs then.
  void Start();
  // Ends the run (a file is flushed and closed) and joins the thread. Safe to call twice.
  void Stop();
  // Any thread.
  TrafficGeneratorCounters Counters() const;

 private:
  void RunSender();
  void RunWriter();
  // Frames the run may still produce after `done`, UINT64_MAX when unlimited.
  uint64_t FramesLeft(uint64_t done) const;
  // Refreshes cpu_ns_ when 100 ms have passed since the last reading, or when `force`.
  void ReadCpu(uint64_t now_ns, bool force);
  // The thread's last act: freezes the clocks and tells JS (the error first, if any).
  void Finish(const std::string& error);

  const TrafficGeneratorOptions options_;
  const EventSink events_;
  const uint64_t frame_limit_;  // count, and with a file and a rate also duration × rate; 0 = none
  TrafficModel model_;
  PacketSender sender_;  // opened by Start() when sending to an interface
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  int output_fd_ = -1;  // the pcap file; its PcapWriter owns it once the thread runs
  uint64_t start_ns_ = 0;
  std::atomic<uint64_t> end_ns_{0};
  std::atomic<bool> running_{false};

  // Written by the generator thread only. cpu_ns_ is refreshed about every 100 ms and at the end.
  SingleWriterCounter frames_, bytes_, send_refusals_, frames_failed_, cpu_ns_;
  uint64_t cpu_read_at_ns_ = 0;
  std::atomic<int> last_errno_{0};
};

}  // namespace dicap
