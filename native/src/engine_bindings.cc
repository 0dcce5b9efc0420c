// JS class `Engine` over dicap::Engine. Options arrive validated by native/engine.ts; the
// guards here only catch misuse. Engine events cross to the JS thread through one
// thread-safe function; the capture and export threads never touch napi_env.
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "bindings.h"
#include "engine.h"
#include "errors.h"
#include "js_arrays.h"
#include "js_lifecycle.h"
#include "kernel_selection_bindings.h"
#include "topology_js.h"

namespace dicap {

namespace {

std::string StringOption(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

uint32_t U32Option(const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

EngineOptions ReadOptions(Napi::Env env, const Napi::Object& o) {
  EngineOptions options;
  options.node_id = U32Option(o, "nodeId", 0);
  Napi::Value key = o.Get("clusterKey");
  if (key.IsBuffer()) {
    Napi::Buffer<uint8_t> bytes = key.As<Napi::Buffer<uint8_t>>();
    options.cluster_key.assign(bytes.Data(), bytes.Data() + bytes.Length());
  }
  options.workers = U32Option(o, "workers", 1);
  DICAP_REQUIRE(env, options.workers <= 256,
                "workers must be 0..256 (0: each capture thread exports itself)");
  options.snaplen = U32Option(o, "snaplen", 128);
  DICAP_REQUIRE(env, options.snaplen >= 14 && options.snaplen <= 65535, "snaplen must be 14..65535");
  options.export_options.payload_size = U32Option(o, "payloadSize", kDefaultBatchPayload);
  options.export_options.flush_ns =
      uint64_t{U32Option(o, "flushUs", static_cast<uint32_t>(options.export_options.flush_ns / 1000))} * 1000;
  options.export_options.mode =
      StringOption(o, "exportMode") == "flow" ? ExportMode::kFlow : ExportMode::kRandom;
  options.export_options.queue_slots = U32Option(o, "queueSlots", 65536);
  Napi::Value batch_key = o.Get("batchKey");
  if (batch_key.IsBuffer()) {
    Napi::Buffer<uint8_t> bytes = batch_key.As<Napi::Buffer<uint8_t>>();
    DICAP_REQUIRE(env, bytes.Length() == kBatchKeySize, "batchKey must be 32 bytes");
    options.export_options.batch_key.emplace();
    std::memcpy(options.export_options.batch_key->data(), bytes.Data(), kBatchKeySize);
  }
  options.ring.interface = StringOption(o, "interface");
  options.ring.block_size = U32Option(o, "blockSize", options.ring.block_size);
  options.ring.block_count = U32Option(o, "blockCount", options.ring.block_count);
  options.ring.retire_ms = U32Option(o, "retireMs", options.ring.retire_ms);
  options.ring.fanout_rollover = o.Get("fanoutRollover").ToBoolean();
  options.capture_threads = U32Option(o, "captureThreads", 1);
  DICAP_REQUIRE(env, options.capture_threads >= 1 && options.capture_threads <= 64,
                "captureThreads must be 1..64");
  Napi::Value cpus = o.Get("cpus");
  if (cpus.IsArray()) {
    Napi::Array list = cpus.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      DICAP_REQUIRE(env, list.Get(i).IsNumber(), "cpus must be an array of CPU numbers");
      options.cpus.push_back(list.Get(i).As<Napi::Number>().Int32Value());
    }
  }
  options.filter = StringOption(o, "filter");
  options.export_options.gso = !o.Get("gso").IsBoolean() || o.Get("gso").As<Napi::Boolean>().Value();
  options.file_path = StringOption(o, "file");
  options.realtime = o.Get("realtime").ToBoolean();
  if (!o.Get("kernelSelection").IsUndefined()) {
    options.kernel = KernelSelectionOf(env, o.Get("kernelSelection"));
    options.kernel_socket_filter = o.Get("kernelSocketFilter").ToBoolean();
  }
  DICAP_REQUIRE(env, options.ring.interface.empty() != options.file_path.empty(),
                "exactly one of `interface` and `file` must be given");
  return options;
}

// The counters every capture thread has, under the names of the engine's totals.
void SetThreadCounters(Napi::Object o, const CaptureThreadCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  o.Set("frames", number(c.frames));
  o.Set("bytes", number(c.bytes));
  o.Set("filtered", number(c.filtered));
  o.Set("socketPackets", number(c.ring.packets));
  o.Set("socketDrops", number(c.ring.drops));
  o.Set("socketFreezes", number(c.ring.freezes));
  o.Set("socketRollovers", number(c.ring.rollovers));
  o.Set("controlFrames", number(c.control_frames));
  o.Set("unassigned", number(c.unassigned));
  o.Set("seen", number(c.seen));
  o.Set("owned", number(c.owned));
  o.Set("notOwned", number(c.not_owned));
  o.Set("queued", number(c.queued));
  o.Set("queueFullDrops", number(c.queue_full_drops));
}

Napi::Object CountersToJs(Napi::Env env, const EngineCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  SetThreadCounters(o, c.total);
  o.Set("sourceErrors", number(c.source_errors));
  o.Set("inbandRejected", number(c.inband_rejected));
  o.Set("recordsExported", number(c.records_exported));
  o.Set("datagramsSent", number(c.datagrams_sent));
  o.Set("bytesSent", number(c.bytes_sent));
  o.Set("sendErrors", number(c.send_errors));
  o.Set("recordsSendFailed", number(c.records_send_failed));
  o.Set("recordsNoAnalyzer", number(c.records_no_analyzer));
  o.Set("gsoWrites", number(c.gso_writes));
  o.Set("gsoFallbacks", number(c.gso_fallbacks));
  o.Set("lastSendErrno", c.last_send_errno);
  o.Set("captureThreads", ArrayToJs(env, c.per_thread, [&](const CaptureThreadCounters& thread) {
          Napi::Object t = Napi::Object::New(env);
          SetThreadCounters(t, thread);
          return t;
        }));
  o.Set("workers", ArrayToJs(env, c.per_stream, [&](const ExportCounters& worker) {
          Napi::Object w = Napi::Object::New(env);
          w.Set("recordsExported", number(worker.records_exported));
          w.Set("datagramsSent", number(worker.datagrams_sent));
          w.Set("sendErrors", number(worker.send_errors));
          return w;
        }));
  o.Set("epochs", ArrayToJs(env, c.epochs, [&](const EpochCounts& epoch) {
          Napi::Object e = Napi::Object::New(env);
          e.Set("epoch", epoch.epoch);
          e.Set("seen", number(epoch.seen));
          e.Set("owned", number(epoch.owned));
          e.Set("exported", number(epoch.exported));
          e.Set("dropped", number(epoch.dropped));
          return e;
        }));
  o.Set("position", c.position);
  o.Set("epoch", c.epoch);
  o.Set("hasTopology", c.has_topology);
  o.Set("kernelNotOwned", number(c.kernel_not_owned));
  o.Set("kernelUndecided", number(c.kernel_undecided));
  return o;
}

Napi::Object EventToJs(Napi::Env env, const EngineEvent& e) {
  Napi::Object js = Napi::Object::New(env);
  switch (e.kind) {
    case EngineEvent::Kind::kTopology:
      js.Set("type", "topology");
      js.Set("topology", TopologyToJs(env, *e.topology));
      js.Set("inband", e.inband);
      break;
    case EngineEvent::Kind::kEnd:
      js.Set("type", "end");
      break;
    case EngineEvent::Kind::kError:
      js.Set("type", "error");
      js.Set("message", e.message);
      break;
    case EngineEvent::Kind::kWarning:
      js.Set("type", "warning");
      js.Set("message", e.message);
      break;
  }
  return js;
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Engine",
        {InstanceMethod("start", &EngineWrap::Start), InstanceMethod("stop", &EngineWrap::Stop),
         InstanceMethod("offerTopology", &EngineWrap::OfferTopology),
         InstanceMethod("stageTopology", &EngineWrap::StageTopology),
         InstanceMethod("counters", &EngineWrap::Counters),
         InstanceMethod("ipidHistogram", &EngineWrap::IpidHistogramOf)});
  }

  // new Engine(options, onEvent(event))
  explicit EngineWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<EngineWrap>(info),
        engine_(RunnerHolder<Engine, EngineEvent>::FromJs(
            info, "new Engine(options, onEvent) expects an options object and a function", ReadOptions,
            "dicap-engine-events", EventToJs, "DICAP_ERR_ENGINE_SETUP")) {}

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) { return engine_->StartJs(info, "DICAP_ERR_SOURCE"); }
  Napi::Value Stop(const Napi::CallbackInfo& info) { return engine_->StopJs(info); }

  Napi::Value OfferTopology(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Napi::Object topology = OnlyObjectArg(info, "offerTopology(topology) expects an object");
    DICAP_REQUIRE(env, engine_->running() != nullptr, "engine is stopped");
    engine_->running()->Offer(TopologyFromJs(env, topology));
    return env.Undefined();
  }

  // stageTopology(topology, token: bigint)
  Napi::Value StageTopology(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 2 && info[0].IsObject() && info[1].IsBigInt(),
                  "stageTopology(topology, token) expects a topology and a bigint");
    DICAP_REQUIRE(env, engine_->running() != nullptr, "engine is stopped");
    bool lossless = true;
    const uint64_t token = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    DICAP_REQUIRE(env, token != 0 && lossless, "a token is a 64-bit value other than 0");
    engine_->running()->Stage(TopologyFromJs(env, info[0].As<Napi::Object>()), token);
    return env.Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return CountersToJs(env, engine_->counters());
  }

  // The owned frames' IPv4 ID histogram: 256 numbers (apart from counters(), which is read
  // far more often and written to summary files).
  Napi::Value IpidHistogramOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const IpidHistogram bins = engine_->counters().ipid_owned;
    Napi::Array out = Napi::Array::New(env, bins.size());
    for (uint32_t i = 0; i < bins.size(); ++i)
      out.Set(i, Napi::Number::New(env, static_cast<double>(bins[i])));
    return out;
  }

  std::unique_ptr<RunnerHolder<Engine, EngineEvent>> engine_;
};

}  // namespace

void RegisterEngineBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", EngineWrap::Define(env));
}

}  // namespace dicap
