#include "traffic_gen.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "monotonic_clock.h"
#include "pcap_writer.h"
#include "traffic_pacer.h"

namespace dicap {

namespace {

constexpr uint64_t kNsPerSecond = 1000000000ull;
constexpr uint64_t kCpuReadIntervalNs = 100000000ull;
constexpr size_t kPcapBufferBytes = 1 << 20;

uint64_t FrameLimit(const TrafficGeneratorOptions& o) {
  if (o.write_path.empty() || o.rate == 0 || o.duration_ns == 0) return o.count;
  // Frames stamped within the duration: j / rate < duration.
  const auto stamped = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(o.duration_ns) * o.rate + kNsPerSecond - 1) / kNsPerSecond);
  return o.count == 0 ? stamped : std::min(o.count, stamped);
}

void PrepareThread() {
  pthread_setname_np(pthread_self(), "dicap-gen");
  // The default 50 µs of timer slack would make every paced sleep wake late.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

}  // namespace

TrafficGenerator::TrafficGenerator(const TrafficGeneratorOptions& options, EventSink events)
    : options_(options),
      events_(std::move(events)),
      frame_limit_(FrameLimit(options)),
      model_(options.model) {
  if (options.interface.empty() == options.write_path.empty()) {
    throw std::invalid_argument("exactly one of `interface` and `write` must be given");
  }
}

TrafficGenerator::~TrafficGenerator() {
  Stop();
  if (output_fd_ >= 0) close(output_fd_);  // opened, but the thread never started
}

void TrafficGenerator::Start() {
  if (!options_.interface.empty()) {
    sender_.Open(options_.interface, options_.qdisc_bypass);
  } else {
    output_fd_ = open(options_.write_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output_fd_ < 0) {
      throw std::runtime_error("cannot write " + options_.write_path + ": " + std::strerror(errno) +
                               "; check the path and its permissions");
    }
  }
  start_ns_ = MonotonicNs();
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] {
    PrepareThread();
    try {
      if (options_.interface.empty())
        RunWriter();
      else
        RunSender();
      Finish("");
    } catch (const std::exception& error) {
      Finish(error.what());
    }
  });
}

void TrafficGenerator::Stop() {
  stop_requested_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  sender_.Close();
}

uint64_t TrafficGenerator::FramesLeft(uint64_t done) const {
  return frame_limit_ == 0 ? UINT64_MAX : frame_limit_ - done;
}

void TrafficGenerator::ReadCpu(uint64_t now_ns, bool force) {
  if (!force && now_ns - cpu_read_at_ns_ < kCpuReadIntervalNs) return;
  cpu_read_at_ns_ = now_ns;
  timespec cpu;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0) {
    cpu_ns_.Set(static_cast<uint64_t>(cpu.tv_sec) * kNsPerSecond + static_cast<uint64_t>(cpu.tv_nsec));
  }
}

void TrafficGenerator::RunSender() {
  std::optional<Pacer> pacer;  // none at --rate max
  if (options_.rate > 0) {
    pacer.emplace(options_.rate, PacketSender::kBatch);
    pacer->Start(MonotonicNs());
  }
  uint16_t lengths[PacketSender::kBatch];
  uint64_t produced = 0;  // frames sent or given up
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    const uint64_t left = FramesLeft(produced);
    if (left == 0) break;
    size_t n = PacketSender::kBatch;
    if (pacer) {
      n = pacer->Acquire(stop_requested_);
      if (n == 0) break;
    }
    const uint64_t now = MonotonicNs();
    if (options_.duration_ns != 0 && now - start_ns_ >= options_.duration_ns) break;
    ReadCpu(now, false);
    n = static_cast<size_t>(std::min<uint64_t>(n, left));
    for (size_t i = 0; i < n; ++i)
      lengths[i] = static_cast<uint16_t>(model_.Next(sender_.Frame(i), left - i));
    const SendOutcome outcome = sender_.Send(lengths, n);
    if (pacer) pacer->Took(static_cast<uint32_t>(n));
    produced += n;
    frames_.Add(outcome.sent);
    bytes_.Add(outcome.sent_bytes);
    if (outcome.refusals != 0) {
      send_refusals_.Add(outcome.refusals);
      frames_failed_.Add(outcome.given_up);
      if (outcome.last_errno != 0) last_errno_.store(outcome.last_errno, std::memory_order_relaxed);
    }
  }
}

void TrafficGenerator::RunWriter() {
  PcapWriter writer(kPcapBufferBytes);
  writer.Open(output_fd_);
  output_fd_ = -1;  // the writer closes it
  const uint64_t base_ns = RealtimeNs();
  uint8_t frame[kGenMaxFrameLen];
  uint64_t written = 0;
  for (;;) {
    // Stop and the clock are looked at every 1024 frames: a frame takes well under a microsecond.
    if ((written & 1023) == 0) {
      if (stop_requested_.load(std::memory_order_relaxed)) break;
      const uint64_t now = MonotonicNs();
      if (options_.rate == 0 && options_.duration_ns != 0 && now - start_ns_ >= options_.duration_ns) break;
      ReadCpu(now, false);
    }
    const uint64_t left = FramesLeft(written);
    if (left == 0) break;
    const size_t len = model_.Next(frame, left);
    const uint64_t ts = options_.rate != 0
                            ? base_ns + static_cast<uint64_t>(static_cast<unsigned __int128>(written) *
                                                              kNsPerSecond / options_.rate)
                            : RealtimeNs();
    writer.Append(static_cast<uint32_t>(ts / kNsPerSecond), static_cast<uint32_t>(ts % kNsPerSecond),
                  static_cast<uint32_t>(len), frame, static_cast<uint32_t>(len));
    ++written;
    frames_.Increment();
    bytes_.Add(len);
    if (writer.state() != OutputState::kOpen) break;
  }
  writer.Close();
  if (writer.records_unwritten() != 0) {
    frames_failed_.Add(writer.records_unwritten());
    frames_.Set(writer.records_written());
    throw std::runtime_error("write " + options_.write_path + " failed (" + OutputStateName(writer.state()) +
                             "): " + std::strerror(writer.error_number()) + "; " +
                             std::to_string(writer.records_unwritten()) + " frames were not written");
  }
}

void TrafficGenerator::Finish(const std::string& error) {
  const uint64_t now = MonotonicNs();
  ReadCpu(now, true);
  end_ns_.store(now, std::memory_order_relaxed);
  running_.store(false, std::memory_order_release);
  // A run ended by Stop() is no news to JS; one that ended by itself (limit reached, or a
  // failure) is.
  const bool stopped = stop_requested_.load(std::memory_order_relaxed);
  if (!error.empty()) events_(TrafficGeneratorEvent{TrafficGeneratorEvent::Kind::kError, error});
  if (!stopped || !error.empty()) events_(TrafficGeneratorEvent{TrafficGeneratorEvent::Kind::kEnd, ""});
}

TrafficGeneratorCounters TrafficGenerator::Counters() const {
  TrafficGeneratorCounters c{};
  c.frames = frames_.Get();
  c.bytes = bytes_.Get();
  c.send_refusals = send_refusals_.Get();
  c.frames_failed = frames_failed_.Get();
  c.last_errno = last_errno_.load(std::memory_order_relaxed);
  c.running = running_.load(std::memory_order_acquire);
  const uint64_t end = end_ns_.load(std::memory_order_relaxed);
  c.elapsed_ns = start_ns_ == 0 ? 0 : (end != 0 ? end : MonotonicNs()) - start_ns_;
  c.cpu_ns = cpu_ns_.Get();
  return c;
}

}  // namespace dicap
