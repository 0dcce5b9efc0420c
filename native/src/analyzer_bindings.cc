// JS class `AnalyzerSink` over dicap::AnalyzerSink. Options arrive validated by
// native/analyzer-sink.ts; the guards here only catch misuse. The sink thread never touches
// napi_env: JS polls counters(), and an environment cleanup hook stops the thread if the
// environment goes away (process exit, worker termination) while the sink still runs.
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

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
  options.output = StringOption(env, o, "output");
  options.receive_buffer_bytes = U32Option(env, o, "receiveBufferBytes", 4096, 1u << 30);
  options.flush_interval_ms = U32Option(env, o, "flushIntervalMs", 1, 60000);
  options.output_buffer_bytes = U32Option(env, o, "outputBufferBytes", 4096, 1u << 28);
  return options;
}

Napi::Object CountersToJs(Napi::Env env, const AnalyzerSinkCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("datagrams", number(c.datagrams));
  o.Set("bytes", number(c.bytes));
  o.Set("records", number(c.records));
  Napi::Object malformed = Napi::Object::New(env);
  for (size_t i = 0; i < kBatchRejectCount; ++i) {
    malformed.Set(BatchRejectName(static_cast<BatchReject>(i)), number(c.malformed[i]));
  }
  o.Set("malformed", malformed);
  o.Set("socketDrops", number(c.socket_drops));
  o.Set("recordsWritten", number(c.records_written));
  o.Set("recordsUnwritten", number(c.records_unwritten));
  o.Set("bytesWritten", number(c.bytes_written));
  o.Set("writeErrors", number(c.write_errors));
  o.Set("outputState", OutputStateName(c.output_state));
  o.Set("outputError", c.output_errno != 0
                           ? Napi::Value(Napi::String::New(env, std::strerror(c.output_errno)))
                           : env.Null());
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
         InstanceMethod("counters", &AnalyzerSinkWrap::Counters)});
  }

  // new AnalyzerSink({ host, port, output, receiveBufferBytes, flushIntervalMs, outputBufferBytes })
  explicit AnalyzerSinkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AnalyzerSinkWrap>(info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsObject(),
                  "new AnalyzerSink(options) expects an options object");
    sink_ = std::make_unique<AnalyzerSink>(ReadOptions(env, info[0].As<Napi::Object>()));
    cleanup_ = std::make_unique<EnvCleanup>(env, [this] { sink_->Stop(); });
  }

  ~AnalyzerSinkWrap() override {
    cleanup_.reset();
    sink_->Stop();
  }

 private:
  // start(): { port } — the bound UDP port (the one asked for, or the kernel's pick for 0).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
      sink_->Start();
    } catch (const SinkError& error) {
      ThrowDicapError(env, error.code(), error.what());
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("port", sink_->bound_port());
    return result;
  }

  // stop(): joins the thread after it read what was queued; flushes and closes the output.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    sink_->Stop();
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) { return CountersToJs(info.Env(), sink_->Counters()); }

  std::unique_ptr<AnalyzerSink> sink_;
  std::unique_ptr<EnvCleanup> cleanup_;
};

}  // namespace

void RegisterAnalyzerBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("AnalyzerSink", AnalyzerSinkWrap::Define(env));
}

}  // namespace dicap
