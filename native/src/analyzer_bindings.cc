// JS class `AnalyzerSink` over dicap::AnalyzerSink. Options arrive validated by
// native/analyzer-sink.ts; the guards here only catch misuse. The sink thread never touches
// napi_env: JS polls counters(), and an environment cleanup hook stops the thread if the
// environment goes away (process exit, worker termination) while the sink still runs.
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analyzer_sink.h"
#include "bindings.h"
#include "errors.h"
#include "js_lifecycle.h"

namespace dicap {

namespace {

uint32_t U32Option(Napi::Env env, const Napi::Object& o, const char* key, uint32_t min, uint32_t max) {
  Napi::Value v = o.Get(key);
  const double value = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  DICAP_REQUIRE(
      env, value >= min && value <= max && std::floor(value) == value,
      std::string(key) + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  return static_cast<uint32_t>(value);
}

std::string StringOption(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  DICAP_REQUIRE(env, v.IsString() && !v.As<Napi::String>().Utf8Value().empty(),
                std::string(key) + " must be a non-empty string");
  return v.As<Napi::String>().Utf8Value();
}

AnalyzerSinkOptions ReadOptions(Napi::Env env, const Napi::Object& o) {
  AnalyzerSinkOptions options;
  options.host = StringOption(env, o, "host");
  options.port = static_cast<uint16_t>(U32Option(env, o, "port", 0, 65535));
  options.receive_buffer_bytes = U32Option(env, o, "receiveBufferBytes", 4096, 1u << 30);
  FrameOutputsOptions& out = options.outputs;
  const std::string kind = StringOption(env, o, "outputKind");
  DICAP_REQUIRE(env, kind == "file" || kind == "tap", "outputKind must be \"file\" or \"tap\"");
  out.kind = kind == "tap" ? OutputKind::kTap : OutputKind::kFile;
  out.target = StringOption(env, o, "output");
  out.split = U32Option(env, o, "split", 1, 1024);
  const std::string format = StringOption(env, o, "format");
  DICAP_REQUIRE(env, format == "pcap" || format == "pcapng", "format must be \"pcap\" or \"pcapng\"");
  out.format = format == "pcapng" ? CaptureFormat::kPcapng : CaptureFormat::kPcap;
  out.snaplen = U32Option(env, o, "snaplen", 1, kPcapMaxSnaplen);
  out.rotation.interval_ns = uint64_t{U32Option(env, o, "rotateSeconds", 0, 1u << 30)} * 1000000000u;
  out.rotation.max_bytes = uint64_t{U32Option(env, o, "rotateMegabytes", 0, 1u << 20)} * 1000000u;
  out.rotation.keep = U32Option(env, o, "rotateCount", 0, 1u << 20);
  out.flush_interval_ms = U32Option(env, o, "flushIntervalMs", 1, 60000);
  out.buffer_bytes = U32Option(env, o, "outputBufferBytes", 4096, 1u << 28);
  out.reorder_ms = U32Option(env, o, "reorderMs", 0, 60000);
  const Napi::Value key = o.Get("batchKey");
  if (!key.IsUndefined() && !key.IsNull()) {
    DICAP_REQUIRE(env, key.IsBuffer() && key.As<Napi::Buffer<uint8_t>>().Length() == kBatchKeySize,
                  "batchKey must be a Buffer of " + std::to_string(kBatchKeySize) + " bytes");
    options.batch_key.emplace();
    std::memcpy(options.batch_key->data(), key.As<Napi::Buffer<uint8_t>>().Data(), kBatchKeySize);
  }
  options.limits.max_nodes = U32Option(env, o, "maxNodes", 1, 1u << 20);
  options.limits.reassembly_timeout_ns =
      uint64_t{U32Option(env, o, "reassemblyTimeoutMs", 1, 60000)} * 1000000;
  return options;
}

Napi::Value ErrorText(Napi::Env env, int error_number) {
  return error_number != 0 ? Napi::Value(Napi::String::New(env, std::strerror(error_number))) : env.Null();
}

Napi::Object CountersToJs(Napi::Env env, const AnalyzerSinkCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("datagrams", number(c.datagrams));
  o.Set("bytes", number(c.bytes));
  o.Set("records", number(c.accounting.records));
  o.Set("badRecords", number(c.accounting.bad_records));
  Napi::Object dropped = Napi::Object::New(env);
  for (size_t i = 0; i < kDropReasonCount; ++i) dropped.Set(DropReasonName(i), number(c.dropped[i]));
  o.Set("malformed", dropped);
  o.Set("reassembledRecords", number(c.accounting.reassembled_records));
  Napi::Object lost = Napi::Object::New(env);
  lost.Set("sequence", number(c.accounting.reassembly_lost.sequence));
  lost.Set("timeout", number(c.accounting.reassembly_lost.timeout));
  lost.Set("memory", number(c.accounting.reassembly_lost.memory));
  o.Set("reassemblyLost", lost);
  o.Set("reassemblyBytes", number(c.accounting.reassembly_bytes));
  o.Set("nodesEvicted", number(c.accounting.nodes_evicted));
  o.Set("socketDrops", number(c.socket_drops));
  o.Set("coalescedReceives", number(c.coalesced_messages));
  o.Set("gro", c.gro);
  const OutputStatus& total = c.output.total;
  o.Set("recordsWritten", number(total.records_written));
  o.Set("recordsUnwritten", number(total.records_unwritten));
  o.Set("bytesWritten", number(total.bytes_written));
  o.Set("writeErrors", number(total.write_errors));
  o.Set("outputState", OutputStateName(total.state));
  o.Set("outputError", ErrorText(env, total.error_number));
  o.Set("filesOpened", number(total.files));
  o.Set("reorderLateRecords", number(c.output.reorder_late_records));
  o.Set("reorderHeldRecords", number(c.output.reorder_held_records));
  Napi::Array outputs = Napi::Array::New(env, c.output.outputs.size());
  for (uint32_t i = 0; i < c.output.outputs.size(); ++i) {
    const NamedOutputStatus& named = c.output.outputs[i];
    Napi::Object output = Napi::Object::New(env);
    output.Set("name", named.name);
    output.Set("state", OutputStateName(named.status.state));
    output.Set("error", ErrorText(env, named.status.error_number));
    output.Set("recordsWritten", number(named.status.records_written));
    output.Set("recordsUnwritten", number(named.status.records_unwritten));
    output.Set("bytesWritten", number(named.status.bytes_written));
    output.Set("writeErrors", number(named.status.write_errors));
    output.Set("filesOpened", number(named.status.files));
    outputs.Set(i, output);
  }
  o.Set("outputs", outputs);
  o.Set("receiveBufferBytes", c.receive_buffer_bytes);
  Napi::Array nodes = Napi::Array::New(env, c.nodes.size());
  for (uint32_t i = 0; i < c.nodes.size(); ++i) {
    const NodeCounters& n = c.nodes[i];
    Napi::Object node = Napi::Object::New(env);
    node.Set("nodeId", n.node_id);
    node.Set("lastEpoch", n.last_epoch);
    node.Set("streams", n.streams);
    node.Set("datagrams", number(n.datagrams));
    node.Set("records", number(n.records));
    node.Set("bytes", number(n.bytes));
    node.Set("badRecords", number(n.bad_records));
    node.Set("seqJumps", number(n.seq_jumps));
    node.Set("gapDatagrams", number(n.gap_datagrams));
    node.Set("lateDatagrams", number(n.late_datagrams));
    node.Set("duplicateDatagrams", number(n.duplicate_datagrams));
    node.Set("duplicateRecords", number(n.duplicate_records));
    node.Set("runs", number(n.runs));
    nodes.Set(i, node);
  }
  o.Set("nodes", nodes);
  return o;
}

class AnalyzerSinkWrap : public Napi::ObjectWrap<AnalyzerSinkWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "AnalyzerSink",
        {InstanceMethod("start", &AnalyzerSinkWrap::Start), InstanceMethod("stop", &AnalyzerSinkWrap::Stop),
         InstanceMethod("reopen", &AnalyzerSinkWrap::Reopen),
         InstanceMethod("counters", &AnalyzerSinkWrap::Counters),
         InstanceMethod("setTopologyNodes", &AnalyzerSinkWrap::SetTopologyNodes)});
  }

  // new AnalyzerSink({ host, port, receiveBufferBytes, outputKind, output, split, format, snaplen,
  //   rotateSeconds, rotateMegabytes, rotateCount, flushIntervalMs, outputBufferBytes, reorderMs })
  explicit AnalyzerSinkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AnalyzerSinkWrap>(info) {
    Napi::Env env = info.Env();
    sink_ = std::make_unique<AnalyzerSink>(
        ReadOptions(env, OnlyObjectArg(info, "new AnalyzerSink(options) expects an options object")));
    cleanup_ = std::make_unique<EnvCleanup>(env, [this] { sink_->Stop(); });
  }

  ~AnalyzerSinkWrap() override {
    cleanup_.reset();
    sink_->Stop();
  }

 private:
  // start(): { port, notices } — the bound UDP port (the one asked for, or the kernel's pick
  // for 0) and lines for a person (a capture moved aside, a TAP created).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<std::string> notices;
    try {
      notices = sink_->Start();
    } catch (const SinkError& error) {
      ThrowDicapError(env, error.code(), error.what());
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("port", sink_->bound_port());
    Napi::Array lines = Napi::Array::New(env, notices.size());
    for (uint32_t i = 0; i < notices.size(); ++i) lines.Set(i, notices[i]);
    result.Set("notices", lines);
    return result;
  }

  // reopen(): SIGHUP — file outputs start a new file.
  Napi::Value Reopen(const Napi::CallbackInfo& info) {
    sink_->Reopen();
    return info.Env().Undefined();
  }

  // stop(): joins the thread after it read what was queued; flushes and closes the output.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    sink_->Stop();
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) { return CountersToJs(info.Env(), sink_->Counters()); }

  // setTopologyNodes(ids: number[]): accept header batches only from these capture nodes.
  Napi::Value SetTopologyNodes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsArray(), "setTopologyNodes(ids) expects an array");
    const Napi::Array ids = info[0].As<Napi::Array>();
    std::vector<uint32_t> nodes;
    nodes.reserve(ids.Length());
    for (uint32_t i = 0; i < ids.Length(); ++i) {
      const Napi::Value id = ids.Get(i);
      DICAP_REQUIRE(env, id.IsNumber(), "setTopologyNodes: node IDs must be numbers");
      nodes.push_back(id.As<Napi::Number>().Uint32Value());
    }
    sink_->SetTopologyNodes(nodes);
    return env.Undefined();
  }

  std::unique_ptr<AnalyzerSink> sink_;
  std::unique_ptr<EnvCleanup> cleanup_;
};

}  // namespace

void RegisterAnalyzerBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("AnalyzerSink", AnalyzerSinkWrap::Define(env));
}

}  // namespace dicap
